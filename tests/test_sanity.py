"""The sanity-check analysis on a tiny run."""

from __future__ import annotations

import pandas as pd
import pytest
import torch

from vcd import VideoConsistencyDistance
from vcd.sanity import distance_curves, load_sanity_images, sanity_metrics, separation_summary, shift_sensitivity


def test_separation_summary_auc_and_ratio():
    rows = []
    for frame in (2, 3):
        rows += [
            {"metric": "m", "family": "natural motion", "kind": "pan", "frame": frame, "distance": d}
            for d in (1.0, 2.0)
        ]
        rows += [
            {"metric": "m", "family": "appearance drift", "kind": "blur", "frame": frame, "distance": d}
            for d in (3.0, 2.0)
        ]
    s = separation_summary(pd.DataFrame(rows))["m"]
    assert s["natural_motion_mean"] == 1.5 and s["appearance_drift_mean"] == 2.5
    assert s["drift_to_motion_ratio"] == pytest.approx(2.5 / 1.5)
    # pairs (3>1, 3>2, 2>1, 2=2 -> 0.5): 3.5 / 4
    assert s["auc_drift_above_motion"] == pytest.approx(0.875)


def test_curves_and_shift_sensitivity_on_a_tiny_run():
    g = torch.Generator().manual_seed(0)
    images = {"a": torch.rand(3, 100, 140, generator=g), "b": torch.rand(3, 100, 140, generator=g)}
    metric = VideoConsistencyDistance(num_projections=4)
    curves = distance_curves({"paper": metric}, images, ["pan", "blur", "content_swap"], 3, (96, 80), progress=False)
    assert len(curves) == 2 * 3 * 2
    assert set(curves.columns) >= {"distance", "weighted", "amplitude", "phase", "family"}
    row = curves.iloc[0]
    assert row.distance == pytest.approx(row.amplitude + row.phase, rel=1e-5)
    assert (curves.weighted <= curves.distance + 1e-9).all()
    shifts = shift_sensitivity({"paper": metric}, images, [0.05, 0.1], (96, 80), progress=False)
    assert set(shifts.metric) == {"paper", "paper:amplitude", "paper:phase"}
    assert (shifts.relative > 0).all()


def test_sanity_metrics_hold_only_comparable_numbers():
    g = torch.Generator().manual_seed(0)
    images = {"a": torch.rand(3, 100, 140, generator=g), "b": torch.rand(3, 100, 140, generator=g)}
    metric = VideoConsistencyDistance(num_projections=4)
    curves = distance_curves({"paper": metric}, images, ["pan", "blur"], 3, (96, 80), progress=False)
    shifts = shift_sensitivity({"paper": metric}, images, [0.05, 0.1], (96, 80), progress=False)
    metrics = sanity_metrics(curves, shifts)
    assert set(metrics) == {"separation", "amplitude_share", "largest_shift", "relative_distance_at_largest_shift"}
    assert metrics["largest_shift"] == 0.1 and set(metrics["relative_distance_at_largest_shift"]) == {
        "paper",
        "paper:amplitude",
        "paper:phase",
    }
    assert 0 < metrics["amplitude_share"] < 1


def test_sanity_images_come_from_the_embedded_manifest():
    from pathlib import Path

    from vcd.layout import Layout

    manifest = Layout(Path(__file__).resolve().parents[1]).embedded_manifest
    images = load_sanity_images(["chelsea", "coffee"], manifest)
    assert list(images) == ["chelsea", "coffee"] and images["chelsea"].shape[0] == 3
    with pytest.raises(ValueError, match="unknown embedded ids"):
        load_sanity_images(["chelsea", "nope"], manifest)
