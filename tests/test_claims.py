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
    assert len(ids) == len(set(ids)) == 16
    assert {c.kind for c in CLAIMS} == {"greater", "less", "not_worse"}
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
    assert metrics["claims_tested"] == 1 and metrics["claims_reproduced"] == 1 and metrics["claims_not_tested"] == 15
    assert set(metrics["claims"]["C1a"]) == {"effect", "p_value", "reproduced"}
    table = claims_frame(claims)
    assert table.loc[table.id == "C5a", "reproduced"].item() == "not tested"
