"""Synthetic videos: shapes, conditioning frame, growth of the change."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vcd.frames import to_tensor
from vcd.synthetic import APPEARANCE_DRIFTS, NATURAL_MOTIONS, make_video, pan, render_view

SIZE = (48, 32)


@pytest.fixture(scope="module")
def image() -> torch.Tensor:
    y, x = np.mgrid[0:90, 0:120]
    rgb = np.stack([(x * 2) % 256, (y * 3) % 256, ((x + y) * 5) % 256], axis=-1).astype(np.uint8)
    return to_tensor(rgb)


@pytest.mark.parametrize("kind", sorted({**NATURAL_MOTIONS, **APPEARANCE_DRIFTS}))
def test_every_kind_starts_at_the_conditioning_frame_and_changes(kind, image):
    video = make_video(kind, image, 6, SIZE)
    assert video.shape == (6, 3, 32, 48) and video.min() >= 0 and video.max() <= 1
    base = render_view(image, SIZE, torch.ones(1), torch.zeros(1), torch.zeros(1))[0]
    if kind != "moving_object":  # the cut-out already sits on frame 1
        torch.testing.assert_close(video[0], base, atol=1e-5, rtol=0)
    change = (video - video[:1]).abs().mean(dim=(1, 2, 3))
    assert change[-1] > change[1] > 0 or kind == "moving_object" and change[-1] > 0


def test_pan_moves_content_sideways(image):
    video = pan(image, 2, SIZE, strength=0.1)
    # 10% of a 120 px image = 12 px of the source, i.e. 12 * (48 / (0.8 * 120)) = 6 output px
    shifted = torch.roll(video[0], shifts=-6, dims=-1)
    err_shifted = (shifted[..., :-8] - video[1][..., :-8]).abs().mean()
    err_static = (video[0] - video[1]).abs().mean()
    assert err_shifted < 0.5 * err_static


def test_unknown_kind_and_short_video_raise(image):
    with pytest.raises(ValueError, match="unknown synthetic video kind"):
        make_video("explode", image, 4, SIZE)
    with pytest.raises(ValueError, match="num_frames must be >= 2"):
        make_video("pan", image, 1, SIZE)
