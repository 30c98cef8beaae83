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


STUDY_METHODS = ("base", "frame_consistency", "vcd")
STUDY_PROMPTS = ("a red cup on a table, camera pans left", "gravel seen from above, camera static")


def make_study_project(root: Path, videos_per_dataset: int = 3, raters: int = 2):
    """A project folder with evaluation videos of three methods (2 prompts x 2 seeds, tiny
    real H.264 files, a distinct colour per method) and the repository's params with a
    small ``human_study``; returns (layout, settings). The study is not designed yet."""
    import pandas as pd

    from vcd.files import write_csv
    from vcd.layout import Layout
    from vcd.video_io import write_video

    layout = Layout(root)
    root.mkdir(parents=True, exist_ok=True)
    raw = copy.deepcopy(load_params(REPO / "params.yaml"))
    settings = settings_of(raw, **{"human_study.videos_per_dataset": videos_per_dataset, "human_study.raters": raters})
    for index, method in enumerate(STUDY_METHODS):
        rows = []
        for p, prompt in enumerate(STUDY_PROMPTS):
            cond = layout.conditioning_image(method, "embedded", prompt)
            cond.parent.mkdir(parents=True, exist_ok=True)
            Image.fromarray(np.full((32, 48, 3), 60 + 80 * p, np.uint8)).save(cond)
            for seed in (0, 1):
                frames = np.zeros((9, 32, 48, 3), np.uint8)
                frames[..., index] = 90 + 40 * seed
                for t in range(9):  # a white bar moving right: something to watch
                    frames[t, :, 4 * t : 4 * t + 6] = 255
                path = layout.video_file(method, "embedded", prompt, seed)
                write_video(path, frames)
                rows.append(
                    {
                        "method": method,
                        "dataset": "embedded",
                        "image_id": f"img{p}",
                        "prompt": prompt,
                        "seed": seed,
                        "file": layout.relative(path),
                        "status": "ok",
                        "reason": "",
                    }
                )
        write_csv(layout.method_results(method).per_video, pd.DataFrame(rows))
    return layout, settings


@pytest.fixture()
def study_project(tmp_path):
    """(layout, settings, study) of a designed tiny study (:func:`make_study_project`)."""
    from vcd.human_study import build_study, write_study

    layout, settings = make_study_project(tmp_path / "study")
    study = build_study(settings, layout)
    write_study(layout, study)
    return layout, settings, study
