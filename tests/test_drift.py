"""The base model's drift check on a tiny model, and its summary."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from vcd import VideoConsistencyDistance
from vcd.drift import drift_check, drift_summary, per_frame_drift
from vcd.models import load_pipeline


def test_per_frame_drift_of_a_static_video_is_none():
    video = torch.rand(1, 1, 3, 80, 96, generator=torch.Generator().manual_seed(0)).expand(1, 3, -1, -1, -1)
    drift = per_frame_drift(video, video[:, 0], VideoConsistencyDistance(num_projections=4), [{"image": "x"}])
    assert list(drift.frame) == [2, 3] and set(drift.image) == {"x"}
    assert drift.vcd_to_first.abs().max() < 1e-5 and drift.ssim_to_first.min() > 0.999


def test_drift_summary_reads_the_first_and_last_frame():
    rows = [
        {"split": s, "image": "a", "seed": 0, "frame": f, "vcd_to_first": v, "ssim_to_first": 1 - v / 10}
        for s, scale in (("train", 1.0), ("eval", 2.0))
        for f, v in ((2, 0.1 * scale), (3, 0.2 * scale), (4, 0.4 * scale))
    ]
    summary = drift_summary(pd.DataFrame(rows))
    assert list(summary) == ["train", "eval"]
    assert summary["eval"]["vcd_to_first_at_frame_4"] == pytest.approx(0.8)
    assert summary["train"]["ssim_to_first_at_frame_2"] == pytest.approx(0.99)
    assert summary["train"]["vcd_rank_correlation_with_frame"] == pytest.approx(1.0)


def test_drift_check_generates_each_split_and_keeps_strips(tiny_settings, tiny_layout, tiny_items):
    pipe = load_pipeline(tiny_settings.model, tiny_layout, "cpu")
    metric = VideoConsistencyDistance(num_projections=4)
    drift, strips, fidelity = drift_check(
        pipe,
        {"train": tiny_items[:2], "eval": tiny_items[2:]},
        tiny_settings.sampling,
        metric,
        seeds=[0, 1],
        max_items=1,
        strips_per_split=1,
    )
    assert set(drift.split) == {"train", "eval"} and set(drift.seed) == {0, 1}
    assert len(drift) == 2 * 2 * (tiny_settings.video.num_frames - 1)  # splits x seeds x frames 2..N
    assert [label for label, _, _ in strips] == ["train: im0", "eval: im2"]
    assert len(fidelity) == 2 * 2 and set(fidelity.split) == {"train", "eval"}  # one row per video
    summary = drift_summary(drift, fidelity)
    train, held_out = fidelity[fidelity.split == "train"], fidelity[fidelity.split == "eval"]
    assert summary["train"]["ssim_frame1_to_cond"] == pytest.approx(train.ssim_frame1_to_cond.mean())
    assert summary["gap"]["chroma_error_frame1"] == pytest.approx(
        train.chroma_error_frame1.mean() - held_out.chroma_error_frame1.mean()
    )


def test_drift_check_can_leave_out_the_per_frame_drift_of_a_split(tiny_settings, tiny_layout, tiny_items):
    """The motion probe needs its videos' fidelity (flow direction), not their VCD per frame."""
    pipe = load_pipeline(tiny_settings.model, tiny_layout, "cpu")
    metric = VideoConsistencyDistance(num_projections=4)
    splits = {"train": tiny_items[:1], "motion": tiny_items[1:2]}
    drift, strips, fidelity = drift_check(
        pipe, splits, tiny_settings.sampling, metric, seeds=[0], max_items=None, drift_splits={"train"}
    )
    assert set(drift.split) == {"train"} and set(fidelity.split) == {"train", "motion"}
    assert [label for label, _, _ in strips] == ["train: im0", "motion: im1"]
    summary = drift_summary(drift, fidelity)
    assert "vcd_rank_correlation_with_frame" not in summary["motion"]
    assert summary["motion"]["ssim_frame1_to_cond"] == pytest.approx(
        float(fidelity[fidelity.split == "motion"].ssim_frame1_to_cond.iloc[0])
    )
