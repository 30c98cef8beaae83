"""The weight-free VBench-style metrics, pinned to hand-computed cases of VBench's formulas.

Each formula constant (i2v_subject's 0.4 / 0.3 / 0.3, dynamic degree's 6 px at a 256-px
side and its round(4 T / 16) count, the top-5 % flow score, cos+ clipping) is checked
by a case whose value changes if the constant does.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from tiny import pan_of
from vcd.frames import to_tensor
from vcd.video_metrics import (
    I2V_SUBJECT_WEIGHTS,
    aligned_ssim,
    cos_plus,
    dynamic_degree_farneback,
    dynamic_pairs_needed,
    dynamic_threshold,
    flow_magnitude_256,
    frame_descriptors,
    i2v_subject,
    is_dynamic,
    motion_smoothness_linear,
    score_video,
    sharpness_laplacian,
    ssim,
    subject_consistency,
    temporal_flickering,
    top5_flow_magnitude,
)


def _unit(angle_degrees: float) -> np.ndarray:
    a = math.radians(angle_degrees)
    return np.array([math.cos(a), math.sin(a)])


# ---------------------------------------------------------------------------- temporal
def test_temporal_flickering_formula():
    frames = np.zeros((3, 8, 8, 3), np.uint8)
    frames[1] = 51  # |0-51| then |51-0|: mean 51
    assert temporal_flickering(frames) == pytest.approx((255 - 51) / 255)
    assert temporal_flickering(np.full((4, 8, 8, 3), 7, np.uint8)) == 1.0


def test_motion_smoothness_hand_computed():
    # odd frame 1 is re-created as (0 + 50) / 2 = 25; it is 100: error 75; frame 3 as (50 + 50) / 2 = 50, exact
    values = [0, 100, 50, 50, 50]
    frames = np.stack([np.full((8, 8, 3), v, np.uint8) for v in values])
    assert motion_smoothness_linear(frames) == pytest.approx((255 - (75 + 0) / 2) / 255)
    ramp = np.stack([np.full((8, 8, 3), 20 * k, np.uint8) for k in range(9)])
    assert motion_smoothness_linear(ramp) == pytest.approx(1.0)
    assert math.isnan(motion_smoothness_linear(ramp[:2]))


# ---------------------------------------------------------------------------- motion
def test_top5_flow_score_is_the_mean_of_the_largest_five_percent():
    flow = np.zeros((10, 20, 2), np.float32)  # 200 vectors: the top 5 % are 10 of them
    flow[..., 0] = 1.0
    flow[0, :10] = (6.0, 8.0)  # magnitude 10
    flow[1, :10] = (3.0, 4.0)  # magnitude 5: inside the top 10 %, outside the top 5 %
    assert top5_flow_magnitude(flow) == pytest.approx(10.0)


def test_dynamic_threshold_is_six_pixels_at_a_256_pixel_short_side():
    assert dynamic_threshold(256, 512) == pytest.approx(6.0)
    assert dynamic_threshold(80, 112) == pytest.approx(6.0 * 80 / 256)
    assert dynamic_threshold(480, 272) == pytest.approx(6.0 * 272 / 256)


def test_dynamic_count_rule_is_round_four_sixteenths_of_the_frames():
    assert [dynamic_pairs_needed(n) for n in (16, 9, 25, 8, 2)] == [4, 2, 6, 2, 0]


def test_dynamic_decision_counts_pairs_above_the_threshold():
    # 16 frames at a 256-px side: dynamic with 4 pairs above 6 px, not with 3; "above" is strict
    above, below = [6.5] * 4 + [1.0] * 11, [6.5] * 3 + [1.0] * 12
    assert is_dynamic(above, 16, 256, 256) and not is_dynamic(below, 16, 256, 256)
    assert not is_dynamic([6.0] * 15, 16, 256, 256)
    assert flow_magnitude_256([2.0, 4.0], 128, 200) == pytest.approx(3.0 * 256 / 128)


def test_dynamic_degree_with_farneback_flow(photo):
    still = np.stack([photo[10:90, 8:120]] * 9)
    moving, _ = dynamic_degree_farneback(pan_of(photo, 4))  # 4 px per frame > 6 * 80 / 256 = 1.875 px
    static, scores = dynamic_degree_farneback(still)
    assert moving and not static and max(scores) < 0.1


# ---------------------------------------------------------------------------- consistency
def test_i2v_subject_hand_computed():
    """0.4 max cos+(image, x_i) + 0.3 mean cos+(x_{i-1}, x_i) + 0.3 min cos+(x_{i-1}, x_i)."""
    cond = _unit(0)
    frames = np.stack(
        [_unit(10), _unit(40), _unit(130)]
    )  # conformity cos 10, 40, 130 (-> 0); steps of 30 and 90 degrees
    score, conformity = i2v_subject(cond, frames)
    c10, c30, c40 = (math.cos(math.radians(a)) for a in (10, 30, 40))
    assert I2V_SUBJECT_WEIGHTS == (0.4, 0.3, 0.3)
    assert score == pytest.approx(0.4 * c10 + 0.3 * (c30 + 0.0) / 2 + 0.3 * 0.0)
    assert conformity == pytest.approx((c10 + c40 + 0.0) / 3)  # cos 130 < 0 is clipped to 0
    assert cos_plus(_unit(0), _unit(180)) == 0.0


def test_subject_consistency_hand_computed():
    """mean over i >= 2 of (cos+(x_{i-1}, x_i) + cos+(x_1, x_i)) / 2."""
    frames = np.stack([_unit(0), _unit(20), _unit(60)])
    c20, c40, c60 = (math.cos(math.radians(a)) for a in (20, 40, 60))
    assert subject_consistency(frames) == pytest.approx(((c20 + c20) / 2 + (c40 + c60) / 2) / 2)


def test_hog_descriptors_are_unit_norm_and_separate_structure_from_noise(photo):
    pan = pan_of(photo, 1)
    desc = frame_descriptors(pan)
    assert desc.shape[0] == 9 and np.allclose(np.linalg.norm(desc, axis=1), 1, atol=1e-5)
    score, conformity = i2v_subject(desc[0], desc)
    assert 0.9 < score <= 1.0 + 1e-6 and 0.9 < conformity <= 1.0 + 1e-6
    noise = np.random.default_rng(0).integers(0, 255, pan.shape, dtype=np.uint8)
    assert subject_consistency(frame_descriptors(noise)) < subject_consistency(desc)


def test_aligned_ssim_forgives_a_pan_but_not_a_fade(photo):
    pan = pan_of(photo, 3)
    raw = float(ssim(to_tensor(pan[-1])[None], to_tensor(pan[0])[None]))
    aligned = aligned_ssim(pan[0], pan)
    assert aligned > 0.95 > raw
    fade = np.stack([(pan[0] * (1 - 0.08 * k)).astype(np.uint8) for k in range(9)])
    assert aligned_ssim(pan[0], fade) < aligned - 0.1


def test_ssim_matches_scikit_image():
    from skimage.metrics import structural_similarity

    g = torch.Generator().manual_seed(0)
    a = torch.rand(1, 3, 40, 56, generator=g)
    b = 0.6 * a + 0.4 * torch.rand(1, 3, 40, 56, generator=g)
    ref = structural_similarity(
        a[0].permute(1, 2, 0).numpy(),
        b[0].permute(1, 2, 0).numpy(),
        channel_axis=2,
        gaussian_weights=True,
        sigma=1.5,
        use_sample_covariance=False,
        data_range=1.0,
    )
    assert float(ssim(a, b)) == pytest.approx(ref, abs=1e-5)


def test_sharpness_is_the_scaled_laplacian_variance():
    import cv2

    rng = np.random.default_rng(1)
    frames = rng.integers(0, 255, (2, 16, 16, 3), dtype=np.uint8)
    expected = np.mean([cv2.Laplacian(cv2.cvtColor(f, cv2.COLOR_RGB2GRAY), cv2.CV_64F).var() for f in frames]) / 1000
    assert sharpness_laplacian(frames) == pytest.approx(expected)
    assert sharpness_laplacian(np.full((2, 16, 16, 3), 9, np.uint8)) == 0.0


# ---------------------------------------------------------------------------- one video
def test_score_video_composes_the_formulas(photo):
    frames = pan_of(photo, 2)
    scores = score_video(frames, frames[0])
    desc, cond_desc = frame_descriptors(frames), frame_descriptors(frames[:1])[0]
    dynamic, pair_scores = dynamic_degree_farneback(frames)
    assert scores["i2v_subject_hog"] == pytest.approx(i2v_subject(cond_desc, desc)[0])
    assert scores["subject_consistency_hog"] == pytest.approx(subject_consistency(desc))
    assert scores["temporal_flickering"] == pytest.approx(temporal_flickering(frames))
    assert scores["dynamic_degree_farneback"] == float(dynamic)
    assert scores["flow_magnitude_farneback"] == pytest.approx(flow_magnitude_256(pair_scores, 80, 112))
    from vcd.columns import METRICS

    fidelity = {m for m, info in METRICS.items() if info.family == "fidelity"}  # vcd/fidelity.py's
    assert set(scores) == set(METRICS) - {"vcd"} - fidelity


def test_score_video_rejects_bad_shapes(photo):
    frames = pan_of(photo, 1)
    with pytest.raises(ValueError, match="at least 2"):
        score_video(frames[:1], frames[0])
    with pytest.raises(ValueError, match="conditioning image is"):
        score_video(frames, photo)
