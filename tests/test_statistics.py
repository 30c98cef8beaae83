"""Per-run values, t intervals, Welch tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vcd.statistics import per_run_values, summarise, t_interval, welch_test


def _per_video() -> pd.DataFrame:
    rows = []
    rng = np.random.default_rng(0)
    for method, shift in (("base", 0.0), ("vcd", 0.1)):
        for seed in range(5):
            for image in range(3):
                rows.append(
                    {
                        "method": method,
                        "dataset": "d",
                        "image_id": f"i{image}",
                        "prompt": f"p{image}",
                        "seed": seed,
                        "status": "ok",
                        "reason": "",
                        "m": shift + rng.normal(0, 0.01),
                    }
                )
    rows.append(
        {
            "method": "vcd",
            "dataset": "d",
            "image_id": "i9",
            "prompt": "p9",
            "seed": 0,
            "status": "excluded",
            "reason": "zero-length file",
            "m": np.nan,
        }
    )
    return pd.DataFrame(rows)


def test_t_interval_matches_the_textbook_formula():
    values = [0.9, 1.1, 1.0, 1.2, 0.8]
    mean, low, high = t_interval(values)
    half = stats.t.ppf(0.975, 4) * np.std(values, ddof=1) / np.sqrt(5)
    assert mean == pytest.approx(1.0) and low == pytest.approx(1.0 - half) and high == pytest.approx(1.0 + half)
    assert np.isnan(t_interval([1.0])[1])


def test_summary_is_mean_over_runs_of_per_seed_means_and_counts_exclusions():
    pv = _per_video()
    runs = per_run_values(pv, "m")
    assert len(runs) == 10 and runs.n_videos.tolist()[:5] == [3] * 5
    summary = summarise(pv, ["m"]).set_index("method")
    manual = pv[(pv.method == "vcd") & (pv.status == "ok")].groupby("seed").m.mean()
    assert summary.loc["vcd", "mean"] == pytest.approx(manual.mean())
    assert (
        summary.loc["vcd", "n_runs"] == 5
        and summary.loc["vcd", "n_excluded"] == 1
        and summary.loc["base", "n_excluded"] == 0
    )
    assert summary.loc["vcd", "ci95_low"] < summary.loc["vcd", "mean"] < summary.loc["vcd", "ci95_high"]


def test_welch_test_agrees_with_scipy_and_handles_constant_samples():
    a, b = [1.0, 1.2, 1.1, 1.3, 1.2], [0.9, 1.0, 0.95, 1.05, 0.9]
    result = welch_test(a, b)
    ref = stats.ttest_ind(a, b, equal_var=False)
    assert result["p_value"] == pytest.approx(ref.pvalue) and result["effect"] == pytest.approx(np.mean(a) - np.mean(b))
    assert welch_test([0.5] * 5, [0.5] * 5)["p_value"] == 1.0
    assert welch_test([1.0] * 5, [0.0] * 5)["p_value"] == 0.0
    assert np.isnan(welch_test([1.0], [0.0, 1.0])["p_value"])
