"""Fidelity measures: the prompt's direction, the flow's, chroma, first/last-frame SSIM."""

from __future__ import annotations

import math

import numpy as np
import pytest

from vcd.fidelity import (
    chroma_error,
    follows_direction,
    mean_flow,
    periodic_artifacts,
    prompted_direction,
    score_fidelity,
)
from vcd.frames import to_tensor, to_uint8


@pytest.mark.parametrize(
    "prompt, expected",
    [
        ("a cup, camera slowly pans right", (-1, 0)),
        ("a cup, camera pans left", (1, 0)),
        ("a street, camera tilts up", (0, 1)),
        ("a grey brick pavement seen from above, camera pans down", (0, -1)),
        ("stained tissue under a microscope, slide moves left", (-1, 0)),
        ("a boat moves right across the lake", (1, 0)),
        ("gravel, camera slowly zooms in", None),
        ("a cat looks at the camera", None),
    ],
)
def test_the_prompt_names_the_content_motion(prompt, expected):
    assert prompted_direction(prompt) == expected


@pytest.mark.parametrize("phrase", ["pans right", "pans left", "tilts down", "tilts up"])
def test_the_toy_training_pans_move_the_way_their_captions_say(photo, phrase):
    """The convention is the one the toy base model is trained with (vcd.toy's pans)."""
    from vcd.synthetic import pan
    from vcd.toy import _PANS

    frames = to_uint8(pan(to_tensor(photo), 9, (112, 80), strength=0.15, direction=_PANS[phrase]))
    expected = prompted_direction(f"a cat, camera {phrase}")
    flow = mean_flow(frames)
    assert follows_direction(flow, expected)
    assert not follows_direction(flow, (-expected[0], -expected[1]))
    sideways = (expected[1], expected[0])
    assert not follows_direction(flow, sideways)


def test_a_direction_needs_the_dominant_axis_and_sign():
    assert follows_direction((2.0, 0.5), (1, 0)) and not follows_direction((2.0, 2.5), (1, 0))
    assert not follows_direction((-2.0, 0.0), (1, 0)) and not follows_direction((0.0, 0.0), (0, 1))


def test_chroma_error_is_zero_for_grey_copies_and_counts_colour():
    grey = np.full((4, 4, 3), 90, np.uint8)
    assert chroma_error(grey, grey) == 0.0
    assert chroma_error(grey + 40, grey) == 0.0  # brightness is not colour
    red = np.zeros((4, 4, 3), np.uint8)
    red[..., 0] = 255  # chroma (170, -85, -85): mean |.| = 340 / 3
    assert chroma_error(red, grey) == pytest.approx(340 / 3, rel=1e-5)


def test_score_fidelity_of_a_still_copy_and_of_a_drifting_video(photo):
    cond = photo[10:90, 8:120]
    still = np.stack([cond] * 9)
    scores = score_fidelity(still, cond, "a cat looks at the camera")
    assert scores["ssim_frame1_to_cond"] == pytest.approx(1.0) and scores["ssim_last_to_cond"] == pytest.approx(1.0)
    assert scores["chroma_error_frame1"] == 0.0 and math.isnan(scores["flow_follows_prompt"])
    rng = np.random.default_rng(0)
    fading = np.stack([(cond * (1 - t / 8) + rng.integers(0, 255, cond.shape) * t / 8) for t in range(9)])
    drift = score_fidelity(fading.astype(np.uint8), cond, "a cat, camera pans left")
    assert drift["ssim_frame1_to_cond"] == pytest.approx(1.0) and drift["ssim_last_to_cond"] < 0.2
    assert drift["flow_follows_prompt"] in (0.0, 1.0)
    with pytest.raises(ValueError, match="frames are"):
        score_fidelity(still, photo, "x")


def test_periodic_artifacts_score_stripes_and_grids_not_photographs(photo):
    """The toy's reward-hacking pattern (regular stripes) against the clean photograph."""
    clean = np.stack([photo[10:90, 8:120]] * 3)
    x = np.arange(112)
    stripes = np.sign(np.sin(2 * np.pi * x / 8))[None, None, :, None]  # period 8 px, vertical
    grid = stripes + np.sign(np.sin(2 * np.pi * np.arange(80) / 8))[None, :, None, None]
    striped = np.clip(clean + 12.0 * stripes, 0, 255).astype(np.uint8)
    gridded = np.clip(clean + 12.0 * grid, 0, 255).astype(np.uint8)
    assert periodic_artifacts(clean) < 0.002
    assert periodic_artifacts(striped) > 20 * periodic_artifacts(clean)
    assert periodic_artifacts(gridded) > periodic_artifacts(striped)
    assert periodic_artifacts(np.zeros_like(clean)) == 0.0  # a flat video has no spectrum to share
