"""Pipelines built from the model settings, saved and loaded with from_pretrained; LoRA helpers."""

from __future__ import annotations

import dataclasses

import pytest
import torch
from safetensors.torch import load_file

from tiny import CAPTIONS, TINY_ARCHITECTURE, TINY_TOY, settings_of
from vcd.layout import Layout
from vcd.models import (
    ModelNotAvailableError,
    add_lora,
    build_toy_pipeline,
    check_model_available,
    load_lora,
    load_pipeline,
    lora_target_report,
    model_provenance,
    save_lora,
)
from vcd.settings import HubModel, SettingsError, ToyVAE


def test_toy_pipeline_round_trips_through_from_pretrained(tiny_settings, tiny_layout):
    pipe = load_pipeline(tiny_settings.model, tiny_layout, "cpu")
    assert type(pipe).__name__ == "WanImageToVideoPipeline"
    assert pipe.vae_scale_factor_spatial == 4 and pipe.vae_scale_factor_temporal == 2
    # Wan2.2-style conditioning (model.toy.expand_timesteps): the noise latents only
    assert pipe.config.expand_timesteps and pipe.transformer.config.in_channels == 4
    assert all(not p.requires_grad for p in pipe.transformer.parameters())
    ids = pipe.tokenizer(["a red cup"], return_tensors="pt").input_ids[0].tolist()
    assert ids[-1] == pipe.tokenizer.eos_token_id and pipe.tokenizer.unk_token_id not in ids
    record = model_provenance(tiny_settings.model, tiny_layout)
    assert record["model"] == "toy" and len(record["weights_sha256"]) == 64 and record["source"] == "models/base"


def test_toy_config_rejects_temporal_factor_one():
    bad = {**TINY_TOY["vae"], "temporal_downsample": [False]}
    with pytest.raises(SettingsError, match="temporal factor of 1"):
        ToyVAE(**{**bad, "dim_mult": tuple(bad["dim_mult"]), "temporal_downsample": (False,)})


def _wan_like_pipeline(image_encoder: bool, expand_timesteps: bool):
    """A tiny pipeline shaped like Wan2.1-I2V-14B (CLIP image tokens) or Wan2.2-TI2V-5B
    (expand_timesteps, no image encoder), random weights."""
    from diffusers import WanImageToVideoPipeline, WanTransformer3DModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    toy = build_toy_pipeline(TINY_ARCHITECTURE, CAPTIONS, seed=1)
    kwargs = {}
    z = toy.vae.config.z_dim
    if image_encoder:
        vision = CLIPVisionModel(
            CLIPVisionConfig(
                hidden_size=16,
                intermediate_size=32,
                num_hidden_layers=1,
                num_attention_heads=2,
                image_size=32,
                patch_size=8,
                projection_dim=16,
            )
        )
        kwargs.update(
            image_encoder=vision, image_processor=CLIPImageProcessor(crop_size=32, size={"shortest_edge": 32})
        )
    transformer = WanTransformer3DModel(
        patch_size=(1, 2, 2),
        num_attention_heads=2,
        attention_head_dim=8,
        in_channels=z if expand_timesteps else 2 * z + 2,
        out_channels=z,
        text_dim=16,
        freq_dim=16,
        ffn_dim=32,
        num_layers=1,
        image_dim=16 if image_encoder else None,
        added_kv_proj_dim=16 if image_encoder else None,
        rope_max_seq_len=32,
    )
    return WanImageToVideoPipeline(
        tokenizer=toy.tokenizer,
        text_encoder=toy.text_encoder,
        vae=toy.vae,
        transformer=transformer,
        scheduler=toy.scheduler,
        expand_timesteps=expand_timesteps,
        **kwargs,
    )


@pytest.mark.parametrize(
    "image_encoder, expand", [(True, False), (False, True)], ids=["wan2.1-i2v-like", "wan2.2-ti2v-like"]
)
def test_hub_models_load_from_a_local_folder(tmp_path, tiny_settings, image_encoder, expand):
    from vcd.sampling import generate_video

    folder = tmp_path / "wan"
    _wan_like_pipeline(image_encoder, expand).save_pretrained(folder)
    model = dataclasses.replace(
        tiny_settings.model,
        name="wan2.1-i2v-14b-480p",
        hub={"wan2.1-i2v-14b-480p": HubModel(repo_id=str(folder), revision=None)},
    )
    pipe = load_pipeline(model, Layout(tmp_path), "cpu")
    assert (pipe.image_encoder is not None) == image_encoder and pipe.config.expand_timesteps == expand
    video = generate_video(pipe, [torch.rand(3, 32, 32)], ["a cat"], [0], tiny_settings.sampling)
    assert video.shape == (1, 5, 3, 32, 32) and torch.isfinite(video).all()


def test_missing_models_fail_before_any_work(tiny_params, tiny_settings, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "empty_cache"))
    hub = dataclasses.replace(tiny_settings.model, name="wan2.1-fun-1.3b-inp")
    with pytest.raises(ModelNotAvailableError, match="weizhou03/Wan2.1-Fun-1.3B-InP-Diffusers"):
        check_model_available(hub, Layout(tmp_path), offline=True)
    with pytest.raises(ModelNotAvailableError, match="make pretrain"):
        check_model_available(tiny_settings.model, Layout(tmp_path / "nothing"))
    with pytest.raises(SettingsError, match="unknown model name 'sora'"):
        settings_of(tiny_params, **{"model.name": "sora"})


def test_lora_targets_save_and_load(tiny_settings, tiny_layout):
    pipe = load_pipeline(tiny_settings.model, tiny_layout, "cpu")
    lora = tiny_settings.finetune.lora
    run = tiny_layout.run("r", "embedded")
    assert lora_target_report(pipe.transformer, lora.target_modules) == {"to_q": 2, "to_k": 2, "to_v": 2, "to_out.0": 2}
    with pytest.raises(ValueError, match=r"LoRA target\(s\) \['to_qkv'\] match no linear layer"):
        add_lora(pipe.transformer, dataclasses.replace(lora, target_modules=("to_qkv",)))
    add_lora(pipe.transformer, lora)
    trainable = {n for n, p in pipe.transformer.named_parameters() if p.requires_grad}
    assert trainable and all("lora_" in n for n in trainable)
    with torch.no_grad():
        for name, p in pipe.transformer.named_parameters():
            if "lora_B" in name:
                p.normal_()
    save_lora(pipe.transformer, run, lora)
    keys = load_file(str(run.lora)).keys()
    assert keys and all("lora_A" in k or "lora_B" in k for k in keys)
    fresh = load_pipeline(tiny_settings.model, tiny_layout, "cpu")
    load_lora(fresh.transformer, run)
    x = torch.randn(1, pipe.transformer.config.in_channels, 3, 8, 8)
    t = torch.tensor([500.0])
    e = torch.randn(1, 4, 16)
    with torch.no_grad():
        a = pipe.transformer(hidden_states=x, timestep=t, encoder_hidden_states=e, return_dict=False)[0]
        b = fresh.transformer(hidden_states=x, timestep=t, encoder_hidden_states=e, return_dict=False)[0]
    torch.testing.assert_close(a, b)
    merged = load_pipeline(tiny_settings.model, tiny_layout, "cpu")
    load_lora(merged.transformer, run, merge=True)  # folded into the base weights: same function
    base = load_pipeline(tiny_settings.model, tiny_layout, "cpu").transformer
    with torch.no_grad():
        c = merged.transformer(hidden_states=x, timestep=t, encoder_hidden_states=e, return_dict=False)[0]
        d = base(hidden_states=x, timestep=t, encoder_hidden_states=e, return_dict=False)[0]
    torch.testing.assert_close(c, a, rtol=1e-4, atol=1e-5)
    assert not torch.allclose(d, a, atol=1e-3)  # and the adapter does change the base model
    with pytest.raises(FileNotFoundError, match="no LoRA weights"):
        load_lora(fresh.transformer, tiny_layout.run("none", "embedded"))


def test_same_tensors_give_the_same_file_in_every_process(tmp_path):
    """safetensors writes several metadata keys in a random order; the LoRA file must not."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent("""
        import sys
        from pathlib import Path

        import peft.utils
        import torch

        from vcd.layout import Layout
        from vcd.models import save_lora
        from vcd.settings import LoraSettings

        weights = {"x.lora_A.weight": torch.ones(2, 2), "x.lora_B.weight": torch.zeros(2, 2)}
        peft.utils.get_peft_model_state_dict = lambda module: weights
        run = Layout(Path(sys.argv[1])).run("r", "embedded")
        meta = {"reward": "vcd", "steps": 20, "base_model": "models/base", "z": 1}
        save_lora(torch.nn.Module(), run, LoraSettings(2, 2.0, 0.0, ("to_q",)), metadata=meta)
    """)
    files = []
    for k in range(4):
        subprocess.run([sys.executable, "-c", code, str(tmp_path / str(k))], check=True)
        files.append((tmp_path / str(k) / "models/lora/embedded/r/lora.safetensors").read_bytes())
    assert len(set(files)) == 1


def test_the_lora_digest_is_the_weights_content(tmp_path):
    from safetensors.torch import save_file

    from vcd.models import lora_digest

    run = Layout(tmp_path).run("r", "embedded")
    run.adapter.mkdir(parents=True)
    save_file(
        {"a.lora_A.weight": torch.ones(2, 2), "a.lora_B.weight": torch.zeros(2, 2)}, str(run.lora), metadata={"x": "1"}
    )
    first = lora_digest(run)
    save_file(
        {"a.lora_A.weight": torch.ones(2, 2), "a.lora_B.weight": torch.zeros(2, 2)}, str(run.lora), metadata={"y": "2"}
    )
    assert lora_digest(run) == first  # other header, same weights
    save_file({"a.lora_A.weight": torch.ones(2, 2), "a.lora_B.weight": torch.full((2, 2), 1e-6)}, str(run.lora))
    assert lora_digest(run) != first
