"""Statistics as the paper reports them (Sec. 4.1, App. C): five videos per (image,
prompt) with different seeds; a *run* is one seed; the per-run value of a metric is the
mean over that seed's videos; tables show the mean over runs with a 95 % confidence
interval from Student's t with n_runs - 1 degrees of freedom; significance by t-tests.

Tests are Welch's two-sample t-tests (unequal variances) on the per-run values, from
``scipy.stats.ttest_ind(equal_var=False)``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd
from scipy import stats

__all__ = ["per_run_values", "t_interval", "summarise", "welch_test", "SUMMARY_COLUMNS"]

SUMMARY_COLUMNS = ["method", "dataset", "metric", "mean", "ci95_low", "ci95_high", "n_runs", "n_videos", "n_excluded"]


def per_run_values(per_video: pd.DataFrame, metric: str) -> pd.DataFrame:
    """Mean of ``metric`` over each (method, dataset, seed)'s usable videos.

    Excluded videos (``status != "ok"``) and NaN values do not enter the mean.
    """
    usable = per_video[(per_video["status"] == "ok") & per_video[metric].notna()]
    grouped = usable.groupby(["method", "dataset", "seed"], sort=False)[metric]
    return grouped.mean().rename("value").reset_index().assign(n_videos=grouped.size().to_numpy())


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float, float]:
    """(mean, low, high) with Student's t, n - 1 degrees of freedom; NaN bounds for n < 2."""
    x = np.asarray(values, dtype=float)
    n = x.size
    if n == 0:
        return float("nan"), float("nan"), float("nan")
    mean = float(x.mean())
    if n < 2:
        return mean, float("nan"), float("nan")
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * x.std(ddof=1) / math.sqrt(n))
    return mean, mean - half, mean + half


def summarise(per_video: pd.DataFrame, metrics: Iterable[str]) -> pd.DataFrame:
    """One row per (method, dataset, metric): mean over runs, 95 % CI, counts."""
    rows = []
    for metric in metrics:
        if metric not in per_video:
            continue
        runs = per_run_values(per_video, metric)
        for (method, dataset), group in per_video.groupby(["method", "dataset"], sort=False):
            values = runs[(runs.method == method) & (runs.dataset == dataset)]["value"]
            mean, low, high = t_interval(values.to_numpy())
            excluded = int((group["status"] != "ok").sum())
            rows.append(
                {
                    "method": method,
                    "dataset": dataset,
                    "metric": metric,
                    "mean": mean,
                    "ci95_low": low,
                    "ci95_high": high,
                    "n_runs": int(values.size),
                    "n_videos": int(((group["status"] == "ok") & group[metric].notna()).sum()),
                    "n_excluded": excluded,
                }
            )
    return pd.DataFrame(rows, columns=SUMMARY_COLUMNS)


def welch_test(a: Sequence[float], b: Sequence[float], alternative: str = "two-sided") -> dict[str, float]:
    """Welch's t-test of mean(a) vs mean(b) (scipy); effect = mean(a) - mean(b)."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    effect = float(a.mean() - b.mean()) if a.size and b.size else float("nan")
    if a.size < 2 or b.size < 2:
        return {"effect": effect, "t": float("nan"), "p_value": float("nan"), "n_a": int(a.size), "n_b": int(b.size)}
    if np.ptp(np.concatenate([a, b])) == 0:  # identical constant samples: no evidence of a difference
        return {"effect": 0.0, "t": 0.0, "p_value": 1.0, "n_a": int(a.size), "n_b": int(b.size)}
    result = stats.ttest_ind(a, b, equal_var=False, alternative=alternative)
    p = float(result.pvalue)
    if math.isnan(p):  # both samples constant but different: a certain difference
        p = 0.0 if (alternative == "two-sided" or (alternative == "greater") == (effect > 0)) else 1.0
    return {"effect": effect, "t": float(result.statistic), "p_value": p, "n_a": int(a.size), "n_b": int(b.size)}
