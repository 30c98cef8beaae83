"""The consistency-motion trade-off: paths, interpolation at equal gain, both readings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vcd.tradeoff import (
    attach_tradeoff,
    common_change,
    motion_at_gain,
    motion_claims,
    path_videos,
    read_motion_claims,
    tradeoff_claims_frame,
    tradeoff_points,
)

CONSISTENCY, MOTION = "i2v_subject_hog", "flow_magnitude_farneback"
STEPS, LAST = (5, 10), 20
RUNS = {"vcd": 0, "vcd@1": 1, "vcd@2": 2, "vcd_l2": 0, "vcd_l2@1": 1, "vcd_l2@2": 2}


def _studied(rate: dict[str, float], cost: dict[str, float], items: int = 4, seed: int = 0) -> pd.DataFrame:
    """Per-video scores of the base model, every run and its snapshots: a run of reward r
    gains ``rate[r] * step / LAST`` consistency (with a little run-to-run spread) and pays
    ``cost[r]`` motion per unit of consistency gained."""
    rng = np.random.default_rng(seed)
    rows = []

    def add(method, c, m, item):
        rows.append(
            {
                "method": method,
                "dataset": "d",
                "image_id": f"i{item}",
                "prompt": f"p{item}",
                "seed": 0,
                "status": "ok",
                CONSISTENCY: c,
                MOTION: m,
                "dynamic_degree_farneback": 0.5,
            }
        )

    for item in range(items):
        add("base", 0.5, 10.0, item)
    for run in RUNS:
        reward = run.split("@")[0]
        speed = rate[reward] * (1 + rng.normal(0, 0.02))
        slope = cost[reward] * (1 + rng.normal(0, 0.02))
        for step in (*STEPS, LAST):
            gain = speed * step / LAST
            name = run if step == LAST else f"{run}~{step}"
            for item in range(items):
                add(name, 0.5 + gain, 10.0 - slope * gain, item)
    # a second seed of every run and of the base model: not in the snapshots' subset, so never on a path
    extra = pd.DataFrame(rows).query("method.str.contains('~') == False").assign(seed=1, **{MOTION: -99.0})
    return pd.concat([pd.DataFrame(rows), extra], ignore_index=True)


def test_motion_at_gain_interpolates_along_the_path():
    path = pd.DataFrame({"step": [0, 5, 20], CONSISTENCY: [0.5, 0.6, 0.8], MOTION: [10.0, 8.0, 4.0]})
    assert motion_at_gain(path, CONSISTENCY, MOTION, 0.2) == pytest.approx(6.0)  # half-way from step 5 to 20
    assert motion_at_gain(path, CONSISTENCY, MOTION, 0.1) == pytest.approx(8.0)
    assert np.isnan(motion_at_gain(path, CONSISTENCY, MOTION, 0.31))  # never reached
    with pytest.raises(ValueError, match="must be non-zero"):
        motion_at_gain(path, CONSISTENCY, MOTION, 0.0)
    losing = path.assign(**{CONSISTENCY: [0.5, 0.4, 0.2]})  # a loss is read the same way, mirrored
    assert motion_at_gain(losing, CONSISTENCY, MOTION, -0.2) == pytest.approx(6.0)
    assert np.isnan(motion_at_gain(losing, CONSISTENCY, MOTION, 0.1))


def test_the_common_change_is_the_one_every_run_reaches_in_the_same_direction():
    def run(*values):
        return pd.DataFrame({"step": [0, 5, 20], CONSISTENCY: [0.5, *values]})

    assert common_change([run(0.6, 0.8), run(0.55, 0.7)], CONSISTENCY) == pytest.approx(0.2)
    assert common_change([run(0.4, 0.2), run(0.45, 0.3)], CONSISTENCY) == pytest.approx(-0.2)
    assert common_change([run(0.6, 0.8), run(0.45, 0.3)], CONSISTENCY) == 0.0  # opposite ways: none


def test_paths_run_from_the_base_model_through_the_snapshots_on_the_subset_only():
    per_video = _studied({"vcd": 0.2, "vcd_l2": 0.2}, {"vcd": 10, "vcd_l2": 10})
    videos = path_videos(per_video, RUNS, STEPS, LAST)
    assert (videos[MOTION] > -99).all()  # the other seed's videos are not on any path
    points = tradeoff_points(videos, [CONSISTENCY, MOTION])
    assert len(points) == len(RUNS) * 4 and (points.n_videos == 4).all()
    one = points[points.run == "vcd@1"]
    assert list(one.step) == [0, 5, 10, 20] and list(one.run_seed) == [1] * 4 and set(one.reward) == {"vcd"}
    assert one[CONSISTENCY].iloc[0] == 0.5 and one[MOTION].iloc[0] == 10.0  # step 0 is the base model
    with pytest.raises(ValueError, match=r"no scored videos of \['vcd~5'\]"):
        path_videos(per_video[per_video.method != "vcd~5"], RUNS, STEPS, LAST)


def test_a_faster_learner_with_the_same_tradeoff_differs_at_equal_steps_not_at_equal_gain():
    """The L2 variant learns twice as fast and pays the same motion per unit of
    consistency: at equal steps it keeps less motion, at equal consistency gain it does not."""
    per_video = _studied({"vcd": 0.1, "vcd_l2": 0.2}, {"vcd": 10, "vcd_l2": 10})
    points = tradeoff_points(path_videos(per_video, RUNS, STEPS, LAST), [CONSISTENCY, MOTION])
    readings = {r["id"]: r for r in read_motion_claims(points, CONSISTENCY, [MOTION])}
    assert set(readings) == {c.id for c in motion_claims([MOTION])} == {"C5b", "C6b", "C6d"}
    assert "not evaluated" in readings["C5b"]["note"]  # no vcd_no_tw runs
    l2 = readings["C6b"]
    assert l2["equal_steps"]["effect"] == pytest.approx(-1.0, abs=0.1)  # 10 x (0.2 - 0.1)
    assert l2["equal_steps"]["reproduced"] and l2["equal_steps"]["n_runs"] == [3, 3]
    assert l2["equal_gain"]["gain"] == pytest.approx(0.1, rel=0.05)  # the slower runs' reach
    assert abs(l2["equal_gain"]["effect"]) < 0.05 and not l2["equal_gain"]["reproduced"]
    # a variant that pays more motion for the same gain is caught at equal gain too
    per_video = _studied({"vcd": 0.1, "vcd_l2": 0.1}, {"vcd": 10, "vcd_l2": 20})
    points = tradeoff_points(path_videos(per_video, RUNS, STEPS, LAST), [CONSISTENCY, MOTION])
    l2 = next(r for r in read_motion_claims(points, CONSISTENCY, [MOTION]) if r["id"] == "C6b")
    assert l2["equal_gain"]["effect"] < -0.5 and l2["equal_gain"]["reproduced"]
    table = tradeoff_claims_frame([l2])
    assert table.loc[0, "equal gain: reproduced"] and table.loc[0, "comparison"].startswith("+VCD (L2, Eq. 4) <")
    assert tradeoff_claims_frame([l2 | {"sign": ">"}]).loc[0, "comparison"].startswith("+VCD (L2, Eq. 4) >")


def test_runs_moving_apart_leave_the_equal_gain_reading_undefined_and_say_why():
    per_video = _studied({"vcd": 0.1, "vcd_l2": -0.1}, {"vcd": 10, "vcd_l2": 10})
    points = tradeoff_points(path_videos(per_video, RUNS, STEPS, LAST), [CONSISTENCY, MOTION])
    l2 = next(r for r in read_motion_claims(points, CONSISTENCY, [MOTION]) if r["id"] == "C6b")
    assert np.isnan(l2["equal_gain"]["p_value"]) and not l2["equal_gain"]["reproduced"]
    assert "do not all move i2v_subject_hog the same way" in l2["equal_gain"]["note"]
    # both losing consistency: read at equal loss (a faster loser with the same trade-off is no different)
    per_video = _studied({"vcd": -0.1, "vcd_l2": -0.2}, {"vcd": 10, "vcd_l2": 10})
    points = tradeoff_points(path_videos(per_video, RUNS, STEPS, LAST), [CONSISTENCY, MOTION])
    l2 = next(r for r in read_motion_claims(points, CONSISTENCY, [MOTION]) if r["id"] == "C6b")
    assert l2["equal_gain"]["gain"] == pytest.approx(-0.1, rel=0.05)
    assert abs(l2["equal_gain"]["effect"]) < 0.05 and l2["equal_steps"]["effect"] == pytest.approx(1.0, abs=0.1)
    claims = [{"id": "C6b", "dataset": "d", "effect": 0.0}, {"id": "C1a", "dataset": "d", "effect": 0.0}]
    attached = attach_tradeoff(claims, [l2])
    assert attached[0]["tradeoff_equal_gain"] is l2["equal_gain"] and "tradeoff_equal_gain" not in attached[1]


def test_end_points_average_the_paths_subset_and_refuse_a_partial_one():
    from vcd.tradeoff import end_points

    per_video = _studied({"vcd": 0.2, "vcd_l2": 0.2}, {"vcd": 10, "vcd_l2": 10})
    videos = path_videos(per_video, RUNS, STEPS, LAST)
    free = per_video[per_video.method == "base"].assign(method="base+frameinit")
    free.loc[free.seed == 0, CONSISTENCY] = [0.5, 0.75, 0.75, 1.0]  # seed 1 (off the subset) keeps 0.5
    both = pd.concat([per_video, free], ignore_index=True)
    markers = end_points(both, ["base+frameinit"], videos, [CONSISTENCY, MOTION])
    assert markers.to_dict("records") == [
        {
            "dataset": "d",
            "method": "base+frameinit",
            "run": "base+frameinit",
            CONSISTENCY: 0.75,
            MOTION: 10.0,
            "n_videos": 4,
        }
    ]
    partial = both.drop(index=both.index[(both.method == "base+frameinit") & (both.image_id == "i0")][:1])
    with pytest.raises(ValueError, match="base\\+frameinit has 3 of the trade-off subset's 4 videos"):
        end_points(partial, ["base+frameinit"], videos, [CONSISTENCY, MOTION])
