"""Conversions between uint8 images/videos (as files store them) and float tensors.

Files, OpenCV and the weight-free metrics use uint8 arrays, channels last
(``[H, W, 3]``, ``[T, H, W, 3]``); the models and VCD use float tensors in [0, 1],
channels first (``[3, H, W]``, ``[T, 3, H, W]``). Every crossing goes through here,
with one rounding rule.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

__all__ = ["to_tensor", "video_to_tensor", "to_uint8", "load_image"]


def _writable(array: np.ndarray) -> np.ndarray:
    # torch refuses to share read-only memory (arrays of PIL images are read-only): copy only then
    return np.require(array, requirements=["C", "W"])


def to_tensor(rgb: np.ndarray) -> torch.Tensor:
    """uint8 ``[H, W, 3]`` -> float ``[3, H, W]`` in [0, 1]."""
    return torch.from_numpy(_writable(rgb)).permute(2, 0, 1).float() / 255.0


def video_to_tensor(frames: np.ndarray) -> torch.Tensor:
    """uint8 ``[..., T, H, W, 3]`` -> float ``[..., T, 3, H, W]`` in [0, 1]."""
    return torch.from_numpy(_writable(frames)).movedim(-1, -3).float() / 255.0


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """float ``[..., 3, H, W]`` in [0, 1] -> uint8 ``[..., H, W, 3]`` (clamped, rounded)."""
    scaled = (images.detach().clamp(0, 1).movedim(-3, -1).cpu().float() * 255).round()
    return scaled.to(torch.uint8).numpy()


def load_image(path: str | Path) -> np.ndarray:
    """A prepared (already checked) image file as uint8 ``[H, W, 3]``."""
    from PIL import Image

    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))
