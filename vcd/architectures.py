"""The paper profile's real Wan architectures, built from their published configs.

``data/architectures/<model>/{transformer,vae}/config.json`` hold the diffusers
configurations of Wan2.1-Fun-1.3B-InP (the paper's "Wan2.1-1.3B-I2V", Sec. 4.1) and
Wan2.1-I2V-14B-480P. This module builds them without downloading anything:

* :func:`build_transformer` on the ``meta`` device (no memory) to count parameters
  and check LoRA targets, or with random weights on the CPU;
* :func:`write_random_pipeline`, a ``WanImageToVideoPipeline`` folder with the real
  transformer and VAE at random initialisation, which :func:`vcd.models.load_pipeline`
  loads through the same ``from_pretrained`` code as downloaded weights.

The text and image encoders are **reduced stand-ins** (the real ones are UMT5-XXL and
an XLM-RoBERTa ViT-H/14, several GB): a one-layer UMT5 of the transformer's
``text_dim`` (4096) over a word-level tokenizer, and a one-layer CLIP vision tower of
its ``image_dim`` (1280). They produce tensors of the shapes the transformer consumes;
what they encode is noise, which is all a timing or memory measurement needs.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import torch

from .layout import Layout

__all__ = [
    "ARCHITECTURES",
    "load_config",
    "build_transformer",
    "build_vae",
    "published_scheduler",
    "write_random_pipeline",
]

#: the Wan models with a published config under data/architectures/
ARCHITECTURES: tuple[str, ...] = ("wan2.1-fun-1.3b-inp", "wan2.1-i2v-14b-480p")


def load_config(layout: Layout, model: str, component: str) -> dict[str, Any]:
    """The published ``config.json`` of ``model``'s ``transformer`` or ``vae``."""
    if model not in ARCHITECTURES:
        raise ValueError(f"no published architecture for {model!r}; known: {list(ARCHITECTURES)}")
    if component not in ("transformer", "vae"):
        raise ValueError(f"component must be 'transformer' or 'vae'; got {component!r}")
    config = json.loads(layout.architecture_config(model, component).read_text(encoding="utf-8"))
    return {k: v for k, v in config.items() if not k.startswith("_")}


def build_transformer(layout: Layout, model: str, device: str | torch.device = "meta", **overrides: Any):
    """``model``'s ``WanTransformer3DModel``: on ``meta`` (shapes only) or with random
    weights on ``device``. ``overrides`` change config keys (e.g. ``num_layers`` for a
    shallower copy of the same widths)."""
    from diffusers import WanTransformer3DModel

    config = {**load_config(layout, model, "transformer"), **overrides}
    with torch.device(device):
        return WanTransformer3DModel.from_config(config)


def build_vae(layout: Layout, model: str, device: str | torch.device = "cpu"):
    """``model``'s ``AutoencoderKLWan`` (Wan2.1's VAE) with random weights."""
    from diffusers import AutoencoderKLWan

    with torch.device(device):
        return AutoencoderKLWan.from_config(load_config(layout, model, "vae"))


def _reduced_text_encoder(width: int, texts: Iterable[str]):
    from transformers import UMT5Config, UMT5EncoderModel

    from .models import build_tokenizer

    tokenizer = build_tokenizer(texts)
    config = UMT5Config(
        vocab_size=len(tokenizer),
        d_model=width,
        d_kv=64,
        d_ff=256,
        num_layers=1,
        num_heads=4,
        relative_attention_num_buckets=8,
        pad_token_id=0,
        eos_token_id=1,
        decoder_start_token_id=0,
    )
    return tokenizer, UMT5EncoderModel(config)


def _reduced_image_encoder(width: int):
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    config = CLIPVisionConfig(
        hidden_size=width,
        intermediate_size=256,
        num_hidden_layers=1,
        num_attention_heads=16,
        image_size=224,
        patch_size=14,
        projection_dim=width,
    )
    processor = CLIPImageProcessor(
        size={"shortest_edge": 224},
        crop_size={"height": 224, "width": 224},
        image_mean=[0.48145466, 0.4578275, 0.40821073],
        image_std=[0.26862954, 0.26130258, 0.27577711],
    )
    return processor, CLIPVisionModel(config)


def published_scheduler():
    """The scheduler the Wan2.1 480p diffusers repositories ship: UniPC over flow sigmas
    with shift 3.0 (diffusers' ``scripts/convert_wan_to_diffusers.py`` for I2V 480p)."""
    from diffusers import UniPCMultistepScheduler

    return UniPCMultistepScheduler(
        prediction_type="flow_prediction", use_flow_sigmas=True, num_train_timesteps=1000, flow_shift=3.0
    )


def write_random_pipeline(
    layout: Layout,
    model: str,
    folder: str | Path,
    texts: Iterable[str] = ("a photo",),
    seed: int = 0,
    dtype: torch.dtype = torch.bfloat16,
    **transformer_overrides: Any,
) -> Path:
    """Save a ``WanImageToVideoPipeline`` of ``model``'s real transformer and VAE with
    random weights (and the reduced encoders) as a diffusers folder; returns it.

    The transformer is stored in ``dtype`` (bf16 halves the 1.3B model's 5.7 GB); the
    VAE in float32, as :func:`vcd.models.load_pipeline` loads it.
    """
    from diffusers import WanImageToVideoPipeline

    torch.manual_seed(int(seed))
    transformer = build_transformer(layout, model, "cpu", **transformer_overrides).to(dtype)
    config = transformer.config
    tokenizer, text_encoder = _reduced_text_encoder(config.text_dim, texts)
    processor, image_encoder = _reduced_image_encoder(config.image_dim)
    pipe = WanImageToVideoPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        image_encoder=image_encoder,
        image_processor=processor,
        transformer=transformer,
        vae=build_vae(layout, model),
        scheduler=published_scheduler(),
    )
    folder = Path(folder)
    pipe.save_pretrained(folder, safe_serialization=True)
    return folder
