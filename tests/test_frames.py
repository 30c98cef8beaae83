"""uint8 arrays <-> float tensors, one rounding rule."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image

from vcd.frames import load_image, to_tensor, to_uint8, video_to_tensor


def test_round_trips_are_exact_and_channels_move():
    rgb = np.random.default_rng(0).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    tensor = to_tensor(rgb)
    assert tensor.shape == (3, 5, 7) and tensor.dtype == torch.float32 and float(tensor.max()) <= 1.0
    assert np.array_equal(to_uint8(tensor), rgb)
    video = np.stack([rgb, 255 - rgb])
    assert video_to_tensor(video).shape == (2, 3, 5, 7)
    assert np.array_equal(to_uint8(video_to_tensor(video)), video)


def test_to_uint8_clamps_and_rounds_half_to_even():
    values = torch.tensor([-0.5, 0.0, 0.5 / 255, 1.5 / 255, 1.0, 2.0]).view(1, 1, 6).expand(3, 1, 6)
    assert to_uint8(values)[0, :, 0].tolist() == [0, 0, 0, 2, 255, 255]


def test_read_only_arrays_are_accepted(tmp_path):
    Image.fromarray(np.full((4, 4, 3), 9, np.uint8)).save(tmp_path / "a.png")
    image = load_image(tmp_path / "a.png")
    assert not image.flags.writeable  # PIL's arrays are read-only; the conversion copies only then
    assert float(to_tensor(image)[0, 0, 0]) == float(torch.tensor(9.0) / 255)
