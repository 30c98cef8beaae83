"""The analysis of the human study's votes: Fig. 8, Table 4, significance, agreement.

Input: the votes the rating app exports (:data:`vcd.rating_app.EXPORT_COLUMNS`), one
row per (rater, trial, question) with the sides the rater saw and the winning method.
The left/right randomisation is undone by reading each vote against the pair as
designed, ``(first, second)`` (e.g. base vs +VCD): the outcome is ``first``, ``tie`` or
``second``, and the score +1 when the second method wins, -1 when the first does, 0 for
a tie.

Significance, two ways (per dataset, question and pair):

* **the paper's t-test** (Sec. 4.2 "We performed a t-test"; the paper does not say which):
  we take it to be a one-sample Student t-test of the vote scores against 0, each vote
  one observation -- the reading under which Table 4's percentages alone determine the
  test. It treats the 15 votes a video gets from 15 raters, and a rater's 90 votes, as
  independent, which they are not;
* **rater-level t-test**, the test this module recommends: each rater's mean score is one
  observation, tested against 0 with n_raters - 1 degrees of freedom, so that a rater
  who prefers one method throughout counts once, not 30 times. With the exact sign test
  (binomial, p = 1/2) on the non-tie votes beside it, votes as the unit, for reference.

Agreement (App. C.1): **percent agreement** "indicating that the majority choice was
consistent across evaluators" -- we take it as, per (trial, question), the share of its
raters who chose the majority outcome, averaged over trials; and **Fleiss' kappa**
(statsmodels) over the same trials with the three outcomes as categories (in method
terms, after undoing the sides). Per-rater **side bias**: the share of non-tie votes for
the left video, with a two-sided binomial test against 1/2.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "OUTCOMES",
    "read_votes",
    "outcomes",
    "table4",
    "significance",
    "agreement",
    "side_bias",
    "paper_stars",
    "summary_metrics",
]

#: the outcome of a vote against the designed pair, in Table 4's row order
OUTCOMES = ("first", "tie", "second")
_REQUIRED = ("study", "rater", "trial", "dataset", "first", "second", "criterion", "choice", "left", "right", "winner")


def read_votes(folder: str | Path, study: str) -> tuple[pd.DataFrame, dict[str, int]]:
    """Every vote of study ``study`` in the CSV files of ``folder`` (the app's exports).

    Returns the votes and, per file, how many rows belong to other studies (reported,
    not analysed). A file without the export's columns, or a vote whose winner does not
    match its choice and sides, is an error, not skipped."""
    frames, other = [], {}
    for path in sorted(Path(folder).glob("*.csv")):
        table = pd.read_csv(path, dtype={"rater": int, "seed": int}, keep_default_na=False)
        missing = [c for c in _REQUIRED if c not in table.columns]
        if missing:
            raise ValueError(f"{path.name} is not a votes export of the rating app: no column(s) {missing}")
        mine = table[table.study == study]
        if len(mine) < len(table):
            other[path.name] = int(len(table) - len(mine))
        frames.append(mine.assign(source=path.name))
    votes = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=[*_REQUIRED, "source"])
    if len(votes):
        expected = np.select([votes.choice == "A", votes.choice == "B"], [votes.left, votes.right], "tie")
        bad = votes[(expected != votes.winner) | ~votes.choice.isin(["A", "Tie", "B"])]
        if len(bad):
            raise ValueError(
                f"{len(bad)} vote(s) whose winner does not follow from choice and sides, e.g. {bad.iloc[0].to_dict()}"
            )
        twice = votes.duplicated(["rater", "trial", "criterion"], keep=False)
        if twice.any():
            raise ValueError(
                f"{int(twice.sum())} rows repeat a (rater, trial, question): export the current votes only, once"
            )
    return votes, other


def outcomes(votes: pd.DataFrame) -> pd.DataFrame:
    """``votes`` with ``outcome`` (first / tie / second), ``score`` (+1 second wins,
    -1 first wins, 0 tie), ``pair`` ("first vs second") and ``chose_left``."""
    out = votes.copy()
    out["outcome"] = np.select([out.winner == out["first"], out.winner == out["second"]], ["first", "second"], "tie")
    out["score"] = out.outcome.map({"first": -1, "tie": 0, "second": 1}).astype(int)
    out["pair"] = out["first"] + " vs " + out["second"]
    out["chose_left"] = out.choice.map({"A": 1.0, "B": 0.0, "Tie": np.nan})
    return out


def table4(votes: pd.DataFrame, pairs: Sequence[Sequence[str]], criteria: Sequence[str]) -> pd.DataFrame:
    """Table 4's layout: for each pair three rows (first method, Tie, second method),
    for each (dataset, question) a column of percentages of the votes."""
    scored = outcomes(votes)
    datasets = list(dict.fromkeys(scored.dataset))
    rows, index = [], []
    for first, second in pairs:
        part = scored[(scored["first"] == first) & (scored["second"] == second)]
        counts = part.groupby(["dataset", "criterion"]).outcome.value_counts(normalize=True).mul(100)
        for outcome, label in zip(OUTCOMES, (first, "Tie", second)):
            index.append((f"{first} vs {second}", label))
            rows.append([float(counts.get((d, c, outcome), 0.0)) for d in datasets for c in criteria])
    columns = pd.MultiIndex.from_tuples([(d, c) for d in datasets for c in criteria], names=["dataset", "question"])
    return pd.DataFrame(rows, index=pd.MultiIndex.from_tuples(index, names=["pair", "vote for"]), columns=columns)


def significance(votes: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, question, pair): votes, raters, the mean score, the paper's t-test
    (votes as the unit), the rater-level t-test (raters as the unit) and the exact sign
    test on non-tie votes; p-values two-sided (see the module docstring)."""
    from scipy import stats

    rows = []
    for (dataset, criterion, pair), part in outcomes(votes).groupby(["dataset", "criterion", "pair"], sort=False):
        scores = part.score.to_numpy(float)
        per_rater = part.groupby("rater").score.mean().to_numpy(float)
        wins, losses = int((scores > 0).sum()), int((scores < 0).sum())
        rows.append(
            {
                "dataset": dataset,
                "question": criterion,
                "pair": pair,
                "votes": len(scores),
                "raters": len(per_rater),
                "mean_score": float(scores.mean()),
                "p_paper_t_votes": (p_paper := _one_sample_p(scores)),
                "paper_marks": paper_stars(p_paper),
                "p_t_raters": _one_sample_p(per_rater),
                "p_sign_votes": float(stats.binomtest(wins, wins + losses).pvalue) if wins + losses else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def _one_sample_p(values: np.ndarray) -> float:
    """Two-sided one-sample t-test against 0; NaN when it is undefined (n < 2), 1 when
    every value is 0, 0 when all values are equal and not 0 (no spread, a sure effect)."""
    from scipy import stats

    if len(values) < 2:
        return float("nan")
    if np.allclose(values, values[0]):
        return 1.0 if values[0] == 0 else 0.0
    return float(stats.ttest_1samp(values, 0.0).pvalue)


def paper_stars(p: float) -> str:
    """The paper's marks (Fig. 8): ``***`` p < 0.001, ``**`` 0.001 <= p < 0.005."""
    if not np.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.005 else ""


def agreement(votes: pd.DataFrame) -> dict[str, Any]:
    """Percent agreement, pairwise agreement and Fleiss' kappa over the (trial, question)
    units rated by the most common number of raters (Fleiss' kappa needs the same number
    per unit; the others are counted under ``units_left_out``)."""
    from statsmodels.stats.inter_rater import fleiss_kappa

    scored = outcomes(votes)
    counts = scored.groupby(["trial", "criterion"]).outcome.value_counts().unstack(fill_value=0)
    counts = counts.reindex(columns=list(OUTCOMES), fill_value=0)
    raters = counts.sum(axis=1)
    if counts.empty or raters.max() < 2:
        return {"units": 0, "raters_per_unit": int(raters.max()) if len(raters) else 0, "units_left_out": len(counts)}
    n = int(raters[raters >= 2].mode().max())
    table = counts[raters == n].to_numpy()
    majority = float((table.max(axis=1) / n).mean())
    pairwise = float(((table * (table - 1)).sum(axis=1) / (n * (n - 1))).mean())
    return {
        "units": int(len(table)),
        "raters_per_unit": n,
        "units_left_out": int(len(counts) - len(table)),
        "percent_agreement_majority": 100 * majority,
        "percent_agreement_pairwise": 100 * pairwise,
        "fleiss_kappa": float(fleiss_kappa(table, method="fleiss")),
        "category_shares": dict(zip(OUTCOMES, (table.sum(axis=0) / table.sum()).round(4).tolist())),
    }


def side_bias(votes: pd.DataFrame) -> pd.DataFrame:
    """Per rater: non-tie votes, the share for the left video (A), and a two-sided
    binomial test of that share against 1/2."""
    from scipy import stats

    rows = []
    for rater, part in outcomes(votes).groupby("rater"):
        decided = part.chose_left.dropna()
        left = int(decided.sum())
        rows.append(
            {
                "rater": int(rater),
                "votes": len(part),
                "non_tie": len(decided),
                "left_share": float(decided.mean()) if len(decided) else float("nan"),
                "p_binomial": float(stats.binomtest(left, len(decided)).pvalue) if len(decided) else float("nan"),
            }
        )
    return pd.DataFrame(rows)


def summary_metrics(sig: pd.DataFrame | None, agree: Mapping[str, Any]) -> dict[str, Any]:
    """The comparable numbers of the analysis for ``dvc metrics show`` (``sig`` None: no votes)."""
    return {
        "votes": int(sig.votes.sum()) if sig is not None and len(sig) else 0,
        "fleiss_kappa": agree.get("fleiss_kappa"),
        "percent_agreement_majority": agree.get("percent_agreement_majority"),
    }
