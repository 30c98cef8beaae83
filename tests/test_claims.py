"""The paper's claims: tested per dataset, 'not tested' said with its reason, metrics for DVC."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vcd.claims import BASELINE, CLAIMS, Claim, claims_frame, claims_metrics, evaluate_claims


def _per_video(
    effects: dict[str, float], metric: str = "i2v_subject_hog", seeds: int = 5, items: int = 3
) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    rows = []
    for method, shift in effects.items():
        for seed in range(seeds):
            for item in range(items):
                rows.append(
                    {
                        "method": method,
                        "dataset": "d",
                        "image_id": f"i{item}",
                        "prompt": f"p{item}",
                        "seed": seed,
                        "status": "ok",
                        "reason": "",
                        metric: 0.5 + shift + rng.normal(0, 0.002),
                    }
                )
    return pd.DataFrame(rows)


def test_claims_are_data_with_unique_ids_and_known_kinds():
    ids = [c.id for c in CLAIMS]
    assert len(ids) == len(set(ids)) == 28
    assert {c.kind for c in CLAIMS} == {"greater", "less", "not_worse"}
    # Table 1's amplitude / phase claims are their own Holm family
    assert [c.id for c in CLAIMS if c.table == "table1"] == ["C8a", "C8b", "C8c"]
    assert [c.id for c in CLAIMS if c.table == "related"] == ["C9a", "C9b", "C9c"]  # FrameInit
    assert [c.id for c in CLAIMS if c.table == "learned"] == ["C10a", "C10b", "C10c"]  # learned rewards
    assert [c.id for c in CLAIMS if c.table == "best_of"] == ["C11a", "C11b", "C11c"]  # best-of-N
    assert {c.table for c in CLAIMS} == {"main", "table1", "related", "learned", "best_of"}
    assert [c.second for c in CLAIMS if c.id.startswith("C7")] == [BASELINE, BASELINE]


@pytest.mark.parametrize(
    "kind, effect, p, holds",
    [
        ("greater", 0.1, 0.01, True),
        ("greater", 0.1, 0.2, False),
        ("greater", -0.1, 0.01, False),
        ("less", -0.1, 0.01, True),
        ("less", 0.1, 0.01, False),
        ("not_worse", -0.1, 0.2, True),
        ("not_worse", -0.1, 0.01, False),
        ("not_worse", 0.1, 0.01, True),
        ("greater", 0.1, float("nan"), False),
    ],
)
def test_a_claim_holds_only_in_its_direction_at_five_percent(kind, effect, p, holds):
    assert Claim("C", "t", "m", "a", "b", kind).holds(effect, p) is holds


def test_evaluate_claims_tests_what_was_evaluated_and_says_what_was_not():
    per_video = _per_video({"base": 0.0, "vcd": 0.05, "frame_consistency": 0.0})
    claims = {
        c["id"]: c for c in evaluate_claims(per_video, ["base", "vcd", "frame_consistency"], ["d"], "frame_consistency")
    }
    assert (
        claims["C1a"]["tested"]
        and claims["C1a"]["reproduced"]
        and claims["C1a"]["effect"] == pytest.approx(0.05, abs=0.005)
    )
    assert claims["C1a"]["n_runs"] == [5, 5] and claims["C1a"]["n_videos"] == [15, 15]
    assert claims["C7a"]["tested"] and claims["C7a"]["comparison"].endswith("[stand-in]")
    assert not claims["C5a"]["tested"] and claims["C5a"]["note"] == "not evaluated: vcd_no_tw"
    assert np.isnan(claims["C5a"]["effect"]) and claims["C5a"]["reproduced"] is False
    assert not claims["C1b"]["tested"] and "was not computed" in claims["C1b"]["note"]
    no_baseline = {c["id"]: c for c in evaluate_claims(per_video, ["base", "vcd"], ["d"], None)}
    assert no_baseline["C7a"]["note"] == "no baseline method (methods.baseline is null)"


def test_exclusions_are_counted_where_the_claim_is_stated():
    per_video = _per_video({"base": 0.0, "vcd": 0.05})
    per_video.loc[(per_video.method == "vcd") & (per_video.image_id == "i0"), ["status", "i2v_subject_hog"]] = [
        "excluded",
        np.nan,
    ]
    claim = next(c for c in evaluate_claims(per_video, ["base", "vcd"], ["d"], None) if c["id"] == "C1a")
    # both sides compared on the videos usable for both: base loses the same 5 (image, seed) pairs
    assert claim["n_videos"] == [10, 10] and claim["n_excluded"] == [5, 5]  # [first (vcd), second (base)]
    assert claim["note"] == "compared on the 10 videos usable for both; left out: 5 of vcd, 5 of base"


def test_claims_metrics_hold_only_comparable_numbers():
    per_video = _per_video({"base": 0.0, "vcd": 0.05})
    claims = evaluate_claims(per_video, ["base", "vcd"], ["d"], None)
    metrics = claims_metrics(claims)
    assert (
        metrics["claims_tested"] == 1
        and metrics["claims_reproduced"] == 1
        and metrics["claims_not_tested"] == len(CLAIMS) - 1
    )
    assert set(metrics["claims"]["C1a"]) == {"effect", "p_value", "reproduced"}
    table = claims_frame(claims)
    assert table.loc[table.id == "C5a", "reproduced"].item() == "not tested"


def _per_video_runs(effect: float, runs: int = 3, items: int = 12, seeds: int = 3, sd_run: float = 0.01):
    """+VCD with ``runs`` fine-tuning runs against one base model on one metric (C1a's)."""
    from vcd.mixed_effects import simulate_study

    study = simulate_study(
        np.random.default_rng(3), effect=effect, runs=runs, items=items, seeds=seeds,
        sd_run=sd_run, sd_item=0.02, sd_item_method=0.002, sd_seed=0.005, second_fixed=True,
    )  # fmt: skip
    return pd.DataFrame(
        {
            "method": study.method.map({"a": "vcd", "b": "base"}),
            "dataset": "d",
            "image_id": [f"i{i}" for i in study["item"]],
            "prompt": [f"p{i}" for i in study["item"]],
            "seed": study.seed,
            "status": "ok",
            "run": study.run,
            "i2v_subject_hog": 0.5 + study.value,
        }
    )


def test_mixed_claims_test_with_the_run_as_unit_and_adjust_for_the_table():
    from vcd.claims import evaluate_claims_mixed

    strong = {r["id"]: r for r in evaluate_claims_mixed(_per_video_runs(0.05), ["d"], baseline=None)}
    c1a = strong["C1a"]
    assert c1a["tested"] and c1a["reproduced"] and (c1a["first"], c1a["second"]) == ("vcd", "base")
    assert c1a["runs_first"] == 3 and c1a["runs_second"] == 1
    assert c1a["ci95_low"] < 0.05 < c1a["ci95_high"] and c1a["items"] == 12
    assert c1a["p_holm"] >= c1a["p_value"] and "Holm" in c1a["test"]
    # every other claim names why it was not tested; none is dropped
    assert len(strong) == len(CLAIMS)
    assert strong["C1b"]["note"] == "metric ssim_to_cond_aligned was not computed"
    assert strong["C5a"]["note"] == "not evaluated: vcd_no_tw"
    assert strong["C7a"]["note"] == "no baseline method (methods.baseline is null)" and not strong["C7a"]["reproduced"]


def test_frameinit_of_the_base_model_is_a_fixed_model_compared_over_items():
    from vcd.claims import evaluate_claims_mixed

    per_video = _per_video_runs(0.03, runs=1)
    per_video["method"] = per_video.method.map({"vcd": "base+frameinit", "base": "base"})
    per_video["run"] = per_video.method  # one model each: nothing was fine-tuned
    result = next(r for r in evaluate_claims_mixed(per_video, ["d"], baseline=None) if r["id"] == "C9a")
    assert result["tested"] and result["reproduced"], result.get("note")
    assert (result["first"], result["second"], result["runs_first"], result["runs_second"]) == (
        "base+frameinit", "base", 1, 1
    )  # fmt: skip
    assert result["df"] == 11  # a paired test over the 12 items


def test_mixed_claims_are_not_fooled_by_one_lucky_run():
    """No effect at all, but runs differ: the sampling seeds of one run (the paper's
    protocol) call that run's offset significant; the run-level model does not."""
    from vcd.claims import evaluate_claims, evaluate_claims_mixed

    data = _per_video_runs(0.0, runs=3, sd_run=0.0)
    # run offsets that average to zero: run 0 lucky (+0.02), the other two not (-0.01 each)
    offsets = data.run.map({0: 0.02, 1: -0.01, 2: -0.01}).where(data.method == "vcd", 0.0)
    data = data.assign(i2v_subject_hog=data.i2v_subject_hog + offsets)
    mixed = next(r for r in evaluate_claims_mixed(data, ["d"], baseline=None) if r["id"] == "C1a")
    assert mixed["tested"] and mixed["p_value"] > 0.05 and not mixed["reproduced"]
    one_run = data[(data.method == "base") | (data.run == 0)].drop(columns="run")
    paper = next(r for r in evaluate_claims(one_run, ["vcd", "base"], ["d"], None) if r["id"] == "C1a")
    assert paper["tested"] and paper["p_value"] < 0.05


def test_mixed_claims_refuse_a_table_without_runs_and_a_single_run():
    from vcd.claims import evaluate_claims_mixed

    data = _per_video_runs(0.05)
    with pytest.raises(ValueError, match="'run' column"):
        evaluate_claims_mixed(data.drop(columns="run"), ["d"], baseline=None)
    single = evaluate_claims_mixed(data[data.run == 0], ["d"], baseline=None)
    c1a = next(r for r in single if r["id"] == "C1a")
    assert not c1a["tested"] and "at least 2" in c1a["note"]


def test_study_claims_put_the_run_level_test_beside_the_papers_protocol():
    """Runs named as the pipeline names them (vcd, vcd@1, vcd@2): the run-level fit uses
    every run on the replicate seeds, the paper's protocol the first run's five seeds."""
    from vcd.claims import evaluate_study_claims, run_level_view

    data = _per_video_runs(0.05, seeds=5).drop(columns="run")
    run = _per_video_runs(0.05, seeds=5).run
    data["method"] = [m if m == "base" or r == 0 else f"{m}@{r}" for m, r in zip(data.method, run, strict=True)]
    view = run_level_view(data, seeds=[0, 1])
    assert set(view.method) == {"vcd", "base"} and set(view.run) == {"vcd", "vcd@1", "vcd@2", "base"}
    assert set(view.seed) == {0, 1}
    claims = {c["id"]: c for c in evaluate_study_claims(data, ["base", "vcd"], ["d"], None, [0, 1])}
    c1a = claims["C1a"]
    assert c1a["tested"] and c1a["runs_first"] == 3 and c1a["reproduced"]
    assert c1a["paper_tested"] and c1a["paper_reproduced"] and "Welch" in c1a["paper_test"]
    assert c1a["paper_n_runs"] == [5, 5]  # the first run's five seeds against the base model's
    table = claims_frame(list(claims.values()))
    assert {"runs: p (Holm)", "paper protocol: p", "runs: reproduced", "paper protocol: reproduced"} <= set(table)
    assert table.set_index("id").loc["C5a", "runs: reproduced"] == "not tested"
    metrics = claims_metrics(list(claims.values()))
    assert metrics["claims"]["C1a"]["paper_reproduced"] and metrics["paper_protocol_claims_reproduced"] >= 1
