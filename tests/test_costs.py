"""The cost table (vcd/costs.py) and the sampling time it reads (vcd/generation.py)."""

from __future__ import annotations

import json
import math

import pytest

from vcd.costs import COST_COLUMNS, method_costs
from vcd.files import write_json
from vcd.generation import sampling_seconds_per_video
from vcd.layout import Layout


def _stamp(layout: Layout, method: str, seconds: float, videos: int) -> None:
    write_json(
        layout.generation_stamp(method, "embedded"),
        {"fingerprint": "x", "sampling_seconds": seconds, "videos_timed": videos},
    )


def test_costs_read_what_the_pipeline_measured(tmp_path):
    layout = Layout(tmp_path)
    _stamp(layout, "base", 10.0, 20)  # 0.5 s per video
    _stamp(layout, "vcd", 11.0, 20)
    _stamp(layout, "base+frameinit", 12.0, 20)
    _stamp(layout, "base+candidates", 40.0, 80)
    for reward, seconds in (("vcd", [40.0, 50.0]), ("icreward", [60.0, 80.0])):
        runs = [{"run_seed": k, "seconds": s} for k, s in enumerate(seconds)]
        write_json(layout.reward_runs(reward, "embedded"), {"reward": reward, "runs": runs})
    _stamp(layout, "icreward", 10.0, 20)
    write_json(layout.reward_models.metrics, {"seconds": 120.0})
    methods = ["base", "vcd", "base+frameinit", "icreward", "base+bestof-vcd", "base+bestof-icreward"]
    table = method_costs(layout, methods, "embedded", "embedded", best_of_n=4).set_index("method")
    assert list(table.columns) == list(COST_COLUMNS)
    rows = table.to_dict("index")
    assert rows["base model"]["training s / run"] == 0.0 and rows["base model"]["sampling vs base"] == 1.0
    assert rows["+VCD"]["training s / run"] == 45.0 and rows["+VCD"]["one-time s"] == 0.0
    assert rows["+VCD"]["sampling vs base"] == pytest.approx(1.1)
    assert rows["base model + FrameInit"]["sampling vs base"] == pytest.approx(1.2)
    learned = rows["+ICReward-style reward (learned)"]
    assert learned["training s / run"] == 70.0 and learned["one-time s"] == 120.0
    by_vcd = rows["base model, best-of-N by VCD"]
    assert by_vcd["sampling s / video"] == pytest.approx(2.0) and by_vcd["sampling vs base"] == pytest.approx(4.0)
    assert by_vcd["one-time s"] == 0.0 and rows["base model, best-of-N by ICReward-style reward"]["one-time s"] == 120.0


def test_an_untimed_method_costs_nan(tmp_path):
    layout = Layout(tmp_path)
    assert math.isnan(sampling_seconds_per_video(layout, "base", "embedded"))
    write_json(layout.generation_stamp("base", "embedded"), {"fingerprint": "x"})
    assert math.isnan(sampling_seconds_per_video(layout, "base", "embedded"))
    assert json.loads(layout.generation_stamp("base", "embedded").read_text()) == {"fingerprint": "x"}
