"""The paper profile's real Wan architectures (data/architectures/), built without weights.

Parameter counts are checked against a count written out from the architecture
(independent of diffusers' module code); the save/load test runs a depth-reduced copy
(one block, every width real) through ``vcd.models.load_pipeline`` and the sampler.
"""

from __future__ import annotations

import dataclasses
import json
from math import prod
from pathlib import Path

import numpy as np
import pytest
import torch

from vcd.architectures import ARCHITECTURES, build_transformer, load_config, write_random_pipeline
from vcd.layout import Layout
from vcd.models import add_lora, load_pipeline
from vcd.sampling import decode_frames, encode_conditions, sample_latents
from vcd.settings import Settings

REPO = Path(__file__).resolve().parents[1]
LAYOUT = Layout(REPO)


def _count(c: dict) -> int:
    """WanTransformer3DModel's parameters from its config, block by block."""
    d, p, f = c["num_attention_heads"] * c["attention_head_dim"], prod(c["patch_size"]), c["ffn_dim"]

    def linear(i: int, o: int) -> int:
        return i * o + o

    n = c["in_channels"] * d * p + d  # patch embedding (Conv3d)
    n += linear(c["freq_dim"], d) + linear(d, d) + linear(d, 6 * d)  # time embedding, its 6 modulations
    n += linear(c["text_dim"], d) + linear(d, d)  # text embedding
    if c["image_dim"]:
        i = c["image_dim"]
        n += 2 * i + linear(i, i) + linear(i, d) + 2 * d  # image embedding: LayerNorm, MLP, LayerNorm
    block = 2 * (4 * linear(d, d) + 2 * d)  # self- and cross-attention: q, k, v, out + q/k RMSNorms
    block += 2 * linear(c["added_kv_proj_dim"], d) + d if c["added_kv_proj_dim"] else 0  # image keys/values
    block += 2 * d + linear(d, f) + linear(f, d) + 6 * d  # cross-attention LayerNorm, FFN, modulations
    return n + c["num_layers"] * block + linear(d, c["out_channels"] * p) + 2 * d


@pytest.mark.parametrize(
    ("model", "billions"), [("wan2.1-fun-1.3b-inp", (1.5, 1.6)), ("wan2.1-i2v-14b-480p", (16.3, 16.5))]
)
def test_published_transformers_have_their_parameter_counts(model, billions):
    transformer = build_transformer(LAYOUT, model)  # meta device: shapes, no memory
    assert next(transformer.parameters()).device.type == "meta"
    count = sum(p.numel() for p in transformer.parameters())
    assert count == _count(load_config(LAYOUT, model, "transformer"))
    assert billions[0] * 1e9 < count < billions[1] * 1e9


def test_lora_of_the_paper_profile_is_vaders_q_k_v_at_half_scale_on_the_1_3b_model(tmp_path):
    """VADER's LoRA (the paper builds on it and names no other): r 16, peft's default
    alpha 8, the query/key/value projections of every self- and cross-attention."""
    from tiny import project_with_profile
    from vcd.config import apply_profile

    layout = project_with_profile(tmp_path, "paper")
    apply_profile("paper", layout)
    lora = Settings.load(layout.params_file).finetune.lora
    assert (lora.rank, lora.alpha, lora.dropout) == (16, 8.0, 0.01)
    transformer = build_transformer(LAYOUT, "wan2.1-fun-1.3b-inp")
    add_lora(transformer, lora)
    trainable = {n: p for n, p in transformer.named_parameters() if p.requires_grad}
    targeted = {n.split(".lora_A")[0] for n in trainable if ".lora_A." in n}
    config = transformer.config
    expected = {
        f"blocks.{b}.{attn}.{proj}"
        for b in range(config.num_layers)
        for attn in ("attn1", "attn2")
        for proj in ("to_q", "to_k", "to_v")
    }
    assert targeted == expected  # output, image key/value and FFN projections stay frozen
    width = config.num_attention_heads * config.attention_head_dim
    assert sum(p.numel() for p in trainable.values()) == len(expected) * lora.rank * 2 * width == 8_847_360


def test_the_published_scheduler_is_kept_unless_params_set_a_shift(tmp_path):
    """Wan's diffusers repositories ship UniPC (flow sigmas, shift 3.0); the paper profile
    keeps it (flow_shift: null), a number replaces it by flow-matching Euler."""
    from diffusers import FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler

    folder = write_random_pipeline(LAYOUT, "wan2.1-fun-1.3b-inp", tmp_path / "w", dtype=torch.float32, num_layers=1)
    settings = Settings.load(REPO / "params.yaml")
    hub = {"wan2.1-fun-1.3b-inp": dataclasses.replace(settings.model.hub["wan2.1-fun-1.3b-inp"], repo_id=str(folder))}
    model = dataclasses.replace(settings.model, name="wan2.1-fun-1.3b-inp", hub=hub, flow_shift=None)
    kept = load_pipeline(model, LAYOUT, "cpu").scheduler
    assert isinstance(kept, UniPCMultistepScheduler)
    assert kept.config.flow_shift == 3.0 and kept.config.use_flow_sigmas
    replaced = load_pipeline(dataclasses.replace(model, flow_shift=5.0), LAYOUT, "cpu").scheduler
    assert isinstance(replaced, FlowMatchEulerDiscreteScheduler) and replaced.config.shift == 5.0


def test_unknown_architecture_is_refused():
    with pytest.raises(ValueError, match="no published architecture"):
        load_config(LAYOUT, "wan2.5", "transformer")
    assert set(ARCHITECTURES) == {p.name for p in LAYOUT.architectures_dir.iterdir() if p.is_dir()}


def test_random_weights_save_and_load_through_the_real_loading_code(tmp_path):
    folder = write_random_pipeline(
        LAYOUT, "wan2.1-fun-1.3b-inp", tmp_path / "wan", texts=["a cat"], dtype=torch.float32, num_layers=1
    )
    settings = Settings.load(REPO / "params.yaml")
    hub = dict(settings.model.hub)
    hub["wan2.1-fun-1.3b-inp"] = dataclasses.replace(hub["wan2.1-fun-1.3b-inp"], repo_id=str(folder))
    model = dataclasses.replace(settings.model, name="wan2.1-fun-1.3b-inp", hub=hub, dtype="float32")
    pipe = load_pipeline(model, LAYOUT)
    published = load_config(LAYOUT, "wan2.1-fun-1.3b-inp", "transformer")
    assert {k: pipe.transformer.config[k] for k in published} == {**published, "num_layers": 1}
    assert json.loads((folder / "vae" / "config.json").read_text())["base_dim"] == 96
    assert pipe.image_encoder is not None  # CLIP image tokens reach the transformer
    # the project's own sampler runs the loaded model end to end (tiny frame size)
    image = np.full((32, 32, 3), 128, np.uint8)
    cond = encode_conditions(pipe, [image], ["a cat"], 5, 32, 32, torch.Generator().manual_seed(0))
    assert cond.image_embeds.shape[-1] == 1280
    latents = sample_latents(pipe, cond, 1)
    frames = decode_frames(pipe, latents, [0, 4])
    assert frames.shape[-2:] == (32, 32) and torch.isfinite(frames).all()
