"""Shared fixtures: tiny image-to-video pipelines built from config and saved to disk,
so the real loading and training code runs in seconds."""

from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from vcd.config import load_params
from vcd.data import Item
from vcd.layout import Layout
from vcd.settings import Settings

REPO = Path(__file__).resolve().parents[1]

from tiny import CAPTIONS, TINY_ARCHITECTURE, TINY_TOY, settings_of  # noqa: E402


@pytest.fixture(scope="session")
def tiny_toy_dir(tmp_path_factory) -> Path:
    """A random-init toy WanImageToVideoPipeline saved with save_pretrained."""
    from vcd.models import build_toy_pipeline

    folder = tmp_path_factory.mktemp("toy_base")
    pipe = build_toy_pipeline(TINY_ARCHITECTURE, CAPTIONS, seed=0, flow_shift=3.0)
    pipe.save_pretrained(folder)
    return folder


@pytest.fixture()
def tiny_layout(tmp_path, tiny_toy_dir) -> Layout:
    """A project folder whose base model is the tiny toy pipeline."""
    root = tmp_path / "project"
    (root / "models").mkdir(parents=True)
    (root / "models" / "base").symlink_to(tiny_toy_dir, target_is_directory=True)
    return Layout(root)


@pytest.fixture(scope="session")
def tiny_items(tmp_path_factory) -> list[Item]:
    folder = tmp_path_factory.mktemp("items")
    rng = np.random.default_rng(0)
    items = []
    for k, caption in enumerate(CAPTIONS):
        path = folder / f"im{k}.png"
        Image.fromarray((rng.random((32, 32, 3)) * 255).astype(np.uint8)).save(path)
        items.append(Item(id=f"im{k}", image=str(path), caption=caption, dataset="tiny"))
    return items


@pytest.fixture()
def tiny_params() -> dict:
    """The raw params.yaml mapping with the tiny model and a few fast settings."""
    params = copy.deepcopy(load_params(REPO / "params.yaml"))
    params["model"]["toy"] = copy.deepcopy(TINY_TOY)
    params["model"].update(num_inference_steps=3, max_sequence_length=8)
    params["video"].update(width=32, height=32, num_frames=5)
    params["vcd"].update(num_projections=4)
    params["pretrain"]["vae"].update(clip_frames=5, crop=[16, 16])  # fits the 32 x 32, 5-frame videos
    params["finetune"].update(
        steps=4,
        batch_size=1,
        grad_accumulation=2,
        checkpoint_every=2,
        val_every=2,
        val_items=1,
        lr=1e-2,
        lora={"rank": 2, "alpha": 2, "dropout": 0.0, "target_modules": ["to_q", "to_k", "to_v", "to_out.0"]},
    )
    torch.manual_seed(0)
    return params


@pytest.fixture()
def tiny_settings(tiny_params) -> Settings:
    return settings_of(tiny_params)


@pytest.fixture(scope="session")
def photo() -> np.ndarray:
    """A real photograph (scikit-image's chelsea) at 160 x 112."""
    import cv2

    from vcd.data import load_rgb, resolve_image

    rgb, _ = load_rgb(resolve_image("pkg://skimage/data/chelsea.png"))
    return cv2.resize(rgb, (160, 112), interpolation=cv2.INTER_AREA)
