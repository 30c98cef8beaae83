"""The paper's claims as data, and their test on the current profile.

Each :class:`Claim` names a comparison the paper makes (Sec. 4.2, Tables 2 and 5,
App. C.3): a metric, two methods and the direction claimed. :func:`evaluate_claims`
tests every claim per dataset as the paper's statistics do (:mod:`vcd.statistics`:
Welch's t-test on per-run values, a run being one sampling seed);
:func:`evaluate_claims_mixed` tests them with the fine-tuning run as the unit
(:mod:`vcd.mixed_effects`), Holm-adjusted within a dataset's table. A claim whose
methods were not evaluated is reported as *not tested*, with the reason, never
dropped; :func:`claims_metrics` condenses the results into the numbers ``dvc metrics``
compares across experiments.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .methods import BASE, is_stand_in, method_label, sampling_model, split_replicate, split_snapshot
from .mixed_effects import MODEL, cell_means, compare_methods, holm
from .statistics import per_run_values, welch_test

__all__ = [
    "BASELINE",
    "Claim",
    "CLAIMS",
    "TEST",
    "MIXED_TEST",
    "evaluate_claims",
    "evaluate_claims_mixed",
    "run_level_view",
    "evaluate_study_claims",
    "claims_metrics",
    "claims_frame",
]

#: Placeholder for the "+V-JEPA" row's method (``methods.baseline``).
BASELINE = "{baseline}"
#: How a claim is tested (recorded with each result).
TEST = "two-sided Welch t-test on per-run means (scipy.stats.ttest_ind, equal_var=False)"


@dataclass(frozen=True)
class Claim:
    """``first`` is greater / less than / not worse than ``second`` on ``metric``."""

    id: str
    text: str
    metric: str
    first: str
    second: str
    kind: Literal["greater", "less", "not_worse"]
    #: the table whose claims share one Holm correction (the main comparisons, Table 1's
    #: ablation, the related methods)
    table: str = "main"

    @property
    def sign(self) -> str:
        return {"greater": ">", "less": "<", "not_worse": ">="}[self.kind]

    def holds(self, effect: float, p_value: float, alpha: float = 0.05) -> bool:
        """Whether the claimed direction holds at level ``alpha``; for "does not
        degrade": no significant degradation."""
        if not np.isfinite(p_value):
            return False
        if self.kind == "greater":
            return bool(effect > 0 and p_value < alpha)
        if self.kind == "less":
            return bool(effect < 0 and p_value < alpha)
        return bool(not (effect < 0 and p_value < alpha))


_CONSISTENCY = "VCD improves consistency to the conditioning image over the base model"
_TEMPORAL = "VCD improves whole-video temporal consistency over the base model"
_QUALITY = "VCD does not degrade quality proxies"
_DYNAMIC = "VCD lowers dynamic degree"
_NO_TW = "Without the temporal weight, dynamic degree falls below VCD's"
_L2 = "The L2 variant (Eq. 4) falls below VCD's dynamic degree"
_FEAT = "The feature-space variant (Eq. 5) falls below VCD's dynamic degree"
_REFERENCE_FREE = "The reference-free baseline (+V-JEPA row) preserves the conditioning image less well than VCD"
_AMPLITUDE = "The amplitude term alone keeps global attributes better than the phase term alone (Table 1)"
_PHASE = "The phase term alone keeps local attributes better than the amplitude term alone (Table 1)"
_FRAMEINIT = "FrameInit (ConsistI2V, Sec. 3.3) improves consistency to the conditioning image at no training cost"
_FRAMEINIT_VCD = "FrameInit adds consistency to a VCD-fine-tuned model (this project's question, not a paper's claim)"
_LEARNED = "Fine-tuning on a learned consistency reward (ICReward-style) improves consistency over the base model"
_ATTENTION = "ICReward's attention model is a better consistency reward than its MLP baseline (ICReward's claim)"
_VCD_VS_LEARNED = "VCD preserves the conditioning image better than a learned reward (this project's question)"
_BEST_OF_VCD = "Best-of-N selection by VCD improves consistency over plain sampling, at no training cost"
_BEST_OF_LEARNED = "Best-of-N selection by the learned reward improves consistency over plain sampling"
_BEST_OF_PAIR = ("base+bestof-icreward", "base+bestof-mlp_reward")
_BEST_OF_ATTENTION = "The attention model selects more consistent samples than the MLP baseline (ICReward's claim)"

#: The paper's claims, each with the default profile's stand-in metric.
CLAIMS: tuple[Claim, ...] = (
    Claim("C1a", _CONSISTENCY, "i2v_subject_hog", "vcd", BASE, "greater"),
    Claim("C1b", _CONSISTENCY, "ssim_to_cond_aligned", "vcd", BASE, "greater"),
    Claim("C2a", _TEMPORAL, "subject_consistency_hog", "vcd", BASE, "greater"),
    Claim("C2b", _TEMPORAL, "temporal_flickering", "vcd", BASE, "greater"),
    Claim("C3a", _QUALITY, "motion_smoothness_linear", "vcd", BASE, "not_worse"),
    Claim("C3b", _QUALITY, "sharpness_laplacian", "vcd", BASE, "not_worse"),
    Claim("C4a", _DYNAMIC, "dynamic_degree_farneback", "vcd", BASE, "less"),
    Claim("C4b", _DYNAMIC, "flow_magnitude_farneback", "vcd", BASE, "less"),
    Claim("C5a", _NO_TW, "dynamic_degree_farneback", "vcd_no_tw", "vcd", "less"),
    Claim("C5b", _NO_TW, "flow_magnitude_farneback", "vcd_no_tw", "vcd", "less"),
    Claim("C6a", _L2, "dynamic_degree_farneback", "vcd_l2", "vcd", "less"),
    Claim("C6b", _L2, "flow_magnitude_farneback", "vcd_l2", "vcd", "less"),
    Claim("C6c", _FEAT, "dynamic_degree_farneback", "vcd_feat", "vcd", "less"),
    Claim("C6d", _FEAT, "flow_magnitude_farneback", "vcd_feat", "vcd", "less"),
    Claim("C7a", _REFERENCE_FREE, "i2v_subject_hog", "vcd", BASELINE, "greater"),
    Claim("C7b", _REFERENCE_FREE, "ssim_to_cond_aligned", "vcd", BASELINE, "greater"),
    # Table 1 (Sec. 4.3): I2V Subject and I2V Background for global attributes (the
    # background dimension's stand-in: the whole-frame SSIM), Temporal Flickering for local ones
    Claim("C8a", _AMPLITUDE, "i2v_subject_hog", "vcd_amp", "vcd_phase", "greater", "table1"),
    Claim("C8b", _AMPLITUDE, "ssim_to_cond_aligned", "vcd_amp", "vcd_phase", "greater", "table1"),
    Claim("C8c", _PHASE, "temporal_flickering", "vcd_phase", "vcd_amp", "greater", "table1"),
    # the related methods (ConsistI2V's FrameInit), their own Holm family
    Claim("C9a", _FRAMEINIT, "i2v_subject_hog", "base+frameinit", BASE, "greater", "related"),
    Claim("C9b", _FRAMEINIT, "ssim_to_cond_aligned", "base+frameinit", BASE, "greater", "related"),
    Claim("C9c", _FRAMEINIT_VCD, "i2v_subject_hog", "vcd+frameinit", "vcd", "greater", "related"),
    # the learned rewards (ICReward-style and its MLP baseline) as fine-tuning rewards
    Claim("C10a", _LEARNED, "i2v_subject_hog", "icreward", BASE, "greater", "learned"),
    Claim("C10b", _ATTENTION, "i2v_subject_hog", "icreward", "mlp_reward", "greater", "learned"),
    Claim("C10c", _VCD_VS_LEARNED, "i2v_subject_hog", "vcd", "icreward", "greater", "learned"),
    # best-of-N selection at sampling time (vcd.best_of_n)
    Claim("C11a", _BEST_OF_VCD, "i2v_subject_hog", "base+bestof-vcd", BASE, "greater", "best_of"),
    Claim("C11b", _BEST_OF_LEARNED, "i2v_subject_hog", "base+bestof-icreward", BASE, "greater", "best_of"),
    Claim("C11c", _BEST_OF_ATTENTION, "i2v_subject_hog", *_BEST_OF_PAIR, "greater", "best_of"),
)


def _label(method: str) -> str:
    return method_label(method) + (" [stand-in]" if is_stand_in(method) else "")


def _second(claim: Claim, baseline: str | None) -> str | None:
    """The method a claim compares against (``methods.baseline`` for the +V-JEPA row)."""
    return baseline if claim.second == BASELINE else claim.second


def _header(claim: Claim, dataset: str, datasets: Sequence[str], baseline: str | None) -> dict[str, Any]:
    """The fields every claim result starts with: untested, not reproduced, NaN statistics."""
    second = _second(claim, baseline)
    against = _label(second) if second else "(no baseline)"
    return {
        "id": f"{claim.id}@{dataset}" if len(datasets) > 1 else claim.id,
        "table": claim.table,
        "claim": claim.text,
        "metric": claim.metric,
        "comparison": f"{method_label(claim.first)} {claim.sign} {against}",
        "dataset": dataset,
        "effect": float("nan"),
        "p_value": float("nan"),
        "reproduced": False,
        "tested": False,
        "note": "",
    }


def _untestable(claim: Claim, second: str | None, methods: Collection[str], data: pd.DataFrame) -> str:
    """Why ``claim`` cannot be tested on ``data`` ("" if it can): a method not evaluated,
    no baseline, or its metric not computed."""
    missing = [m for m in (claim.first, second) if m is None or m not in methods]
    if missing:
        return (
            "no baseline method (methods.baseline is null)"
            if None in missing
            else f"not evaluated: {', '.join(missing)}"
        )
    if claim.metric not in data:
        return f"metric {claim.metric} was not computed"
    return ""


def _common_videos(data: pd.DataFrame, methods: Sequence[str], metric: str) -> pd.DataFrame:
    """The rows of ``methods`` whose (image, seed) is usable for every one of them."""
    usable = data[(data.status == "ok") & data[metric].notna() & data.method.isin(list(methods))]
    keys = None
    for method in methods:
        own = set(zip(usable.image_id[usable.method == method], usable.seed[usable.method == method], strict=True))
        keys = own if keys is None else keys & own
    mask = [(i, s) in keys for i, s in zip(usable.image_id, usable.seed, strict=True)]
    return usable[mask]


def evaluate_claims(
    per_video: pd.DataFrame, methods: Sequence[str], datasets: Sequence[str], baseline: str | None
) -> list[dict[str, Any]]:
    """Test every claim on every dataset: a two-sided Welch t-test on per-run values.

    Both sides are compared on the same videos: the (image, seed) pairs usable for
    both methods, so a method that lost videos is not compared on an easier subset.
    Each result says whether it was ``tested``; one that was not (a method not in
    ``methods``, no baseline, no usable videos) carries the reason in ``note``, NaN
    statistics and ``reproduced: false``. ``n_runs`` and ``n_videos`` give the runs
    and videos behind each side, ``n_excluded`` the videos left out of each side (its
    own excluded videos and those the other method lacks), and ``note`` says so.
    """
    out = []
    for dataset in datasets:
        data = per_video[per_video.dataset == dataset]
        for claim in CLAIMS:
            second = _second(claim, baseline)
            result = _header(claim, dataset, datasets, baseline) | {
                "n_runs": [0, 0],
                "n_videos": [0, 0],
                "n_excluded": [0, 0],
                "test": TEST,
            }
            result["note"] = _untestable(claim, second, methods, data)
            values = []
            if not result["note"]:
                pair = _common_videos(data, (claim.first, second), claim.metric)
                runs = per_run_values(pair, claim.metric)
                for k, method in enumerate((claim.first, second)):
                    values.append(runs[runs.method == method]["value"].to_numpy())
                    result["n_videos"][k] = int((pair.method == method).sum())
                    result["n_excluded"][k] = int((data.method == method).sum()) - result["n_videos"][k]
            if not result["note"] and any(v.size < 2 for v in values):
                result["note"] = "fewer than two runs with usable videos on one side"
            if result["note"]:
                out.append(result)
                continue
            test = welch_test(values[0], values[1])
            result.update(
                effect=test["effect"],
                p_value=test["p_value"],
                tested=True,
                n_runs=[test["n_a"], test["n_b"]],
                reproduced=claim.holds(test["effect"], test["p_value"]),
            )
            if any(result["n_excluded"]):
                result["note"] = (
                    f"compared on the {result['n_videos'][0]} videos usable for both; left out: "
                    f"{result['n_excluded'][0]} of {claim.first}, {result['n_excluded'][1]} of {second}"
                )
            out.append(result)
    return out


#: How :func:`evaluate_claims_mixed` tests a claim (recorded with each result).
MIXED_TEST = MODEL + "; Holm's correction across the claims of one table (the main claims, Table 1's) and dataset"


def evaluate_claims_mixed(
    per_video: pd.DataFrame, datasets: Sequence[str], baseline: str | None, fixed: Sequence[str] | None = None
) -> list[dict[str, Any]]:
    """Test every claim on every dataset with the fine-tuning run as the unit of replication.

    ``per_video`` is the per-video table with a ``run`` column naming each video's
    fine-tuning run (the study issue: several run seeds per method, each scored on every
    item with several sampling seeds). Each claim is a :func:`vcd.mixed_effects.compare_methods`
    fit on the items both methods were scored on (an item is an (image, prompt) pair);
    ``fixed`` names the methods that are one model rather than a sample of runs (default:
    the base model, its FrameInit and best-of-N variants: nothing was trained; two fixed models are
    compared over items). p-values are adjusted with Holm's method across the tested
    claims of one table (:attr:`Claim.table`) and dataset, and ``reproduced`` uses the
    adjusted value. A claim the design cannot test (a method missing, one fine-tuning
    run, no common items) is reported with the reason.
    """
    if "run" not in per_video:
        raise ValueError("per-video table has no 'run' column: the mixed model needs the fine-tuning run of each video")
    if fixed is None:
        fixed = [m for m in dict.fromkeys(per_video.method) if sampling_model(m) == BASE]
    out = []
    for dataset in datasets:
        data = per_video[per_video.dataset == dataset].assign(
            item=lambda d: d.image_id.astype(str) + " | " + d.prompt.astype(str)
        )
        results = []
        for claim in CLAIMS:
            second = _second(claim, baseline)
            result = _header(claim, dataset, datasets, baseline) | {"test": MIXED_TEST}
            result["note"] = _untestable(claim, second, set(data.method), data)
            if not result["note"]:
                cells = cell_means(data[data.method.isin([claim.first, second])], claim.metric)
                common = set.intersection(*(set(cells.item[cells.method == m]) for m in (claim.first, second)))
                try:
                    fit = compare_methods(cells[cells.item.isin(common)], claim.first, second, fixed)
                except ValueError as exc:
                    result["note"] = str(exc)
                else:
                    result.update(fit.as_row(), tested=True)  # with the compared methods, first and second
            results.append((claim, result))
        for table in dict.fromkeys(claim.table for claim in CLAIMS):  # one Holm family per table
            tested = [(claim, r) for claim, r in results if r["tested"] and claim.table == table]
            for (claim, r), adjusted in zip(tested, holm([r["p_value"] for _, r in tested]), strict=True):
                r["p_holm"] = float(adjusted)
                r["reproduced"] = claim.holds(r["effect"], r["p_holm"])
        out += [r for _, r in results]
    return out


def run_level_view(per_video: pd.DataFrame, seeds: Collection[int]) -> pd.DataFrame:
    """The per-video table as the run-level test reads it: ``method`` becomes the reward
    (``vcd@1`` -> ``vcd``), ``run`` names the fine-tuning run (the evaluated method:
    ``vcd``, ``vcd@1``, ...; ``base`` for the base model), and only the sampling
    ``seeds`` every run was scored with are kept, so that every (run, item) cell averages
    the same number of videos (a balanced design; the first runs have more seeds)."""
    snapshot = [split_snapshot(m)[1] is not None for m in per_video.method]
    if any(snapshot):  # a snapshot is not a run: counting it would add a run that is the same run, earlier
        raise ValueError("the per-video table holds trade-off snapshots (<run>~<step>); the claims compare runs only")
    kept = per_video[per_video.seed.isin(list(seeds))]
    return kept.assign(run=kept.method, method=[split_replicate(m)[0] for m in kept.method]).reset_index(drop=True)


#: The fields of a paper-protocol result kept beside the run-level one (prefixed ``paper_``).
_PAPER_FIELDS = ("effect", "p_value", "reproduced", "tested", "n_runs", "n_videos", "note", "test")


def evaluate_study_claims(
    per_video: pd.DataFrame,
    methods: Sequence[str],
    datasets: Sequence[str],
    baseline: str | None,
    replicate_seeds: Collection[int],
) -> list[dict[str, Any]]:
    """Every claim tested both ways, one result per (claim, dataset).

    The headline fields (``effect``, ``ci95_low``/``ci95_high``, ``p_value``, ``p_holm``,
    ``mde80``, ``reproduced``, ...) are the run-level test (:func:`evaluate_claims_mixed`
    on :func:`run_level_view` of every run's videos): the fine-tuning run is the unit of
    replication. Beside them, prefixed ``paper_``, the paper's protocol
    (:func:`evaluate_claims`: the five sampling seeds of each method's first run, the
    Welch test), so the two can be compared claim by claim. ``methods`` are the
    methods in the paper's protocol (the base model and each reward's first run).
    """
    paper = evaluate_claims(per_video[per_video.method.isin(list(methods))], methods, datasets, baseline)
    runs = run_level_view(per_video, replicate_seeds)
    runs = runs[runs.method.isin(list(methods))]
    mixed = evaluate_claims_mixed(runs, datasets, baseline)
    out = []
    for run_level, protocol in zip(mixed, paper, strict=True):
        assert run_level["id"] == protocol["id"]
        out.append(run_level | {f"paper_{k}": protocol[k] for k in _PAPER_FIELDS if k in protocol})
    return out


def claims_metrics(claims: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The numbers ``dvc metrics show`` compares across experiments: how many claims
    were tested and reproduced, and each tested claim's effect and p-value (with the
    paper-protocol verdicts beside them when the claims carry them)."""
    tested = [c for c in claims if c["tested"]]
    metrics: dict[str, Any] = {
        "claims_tested": len(tested),
        "claims_reproduced": int(sum(c["reproduced"] for c in tested)),
        "claims_not_tested": len(claims) - len(tested),
    }
    if claims and "paper_tested" in claims[0]:
        metrics["paper_protocol_claims_reproduced"] = int(sum(bool(c["paper_reproduced"]) for c in claims))
    readings = [c["tradeoff_equal_gain"] for c in claims if "tradeoff_equal_gain" in c]
    if readings:  # the motion claims read at equal consistency gain (vcd.tradeoff)
        metrics["motion_claims_reproduced_at_equal_gain"] = int(sum(bool(r["reproduced"]) for r in readings))
        metrics["motion_claims_reproduced_at_equal_steps_on_subset"] = int(
            sum(bool(c["tradeoff_equal_steps"]["reproduced"]) for c in claims if "tradeoff_equal_steps" in c)
        )
    if claims and claims[0].get("reruns"):
        metrics["claims_same_verdict_in_reruns"] = int(sum(bool(c["same_verdict_in_reruns"]) for c in claims))
        metrics["claims_reproduced_in_every_study"] = int(sum(bool(c["reproduced_in_every_study"]) for c in claims))
    metrics["claims"] = {
        c["id"]: {"effect": c["effect"], "p_value": c.get("p_holm", c["p_value"]), "reproduced": c["reproduced"]}
        | ({"paper_reproduced": c["paper_reproduced"]} if "paper_reproduced" in c else {})
        for c in tested
    }
    return metrics


def claims_frame(claims: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The claims as the table the report prints (one row each); claims tested both
    ways (:func:`evaluate_study_claims`) show the run-level test and the paper's side by side."""
    frame = pd.DataFrame(list(claims))
    reruns = sorted({label for c in claims for label in c.get("reruns") or {}})

    def verdict(reproduced, tested) -> Any:
        return "not tested" if not tested else bool(reproduced)

    if "paper_tested" not in frame:
        columns = ["id", "claim", "metric", "comparison", "effect", "p_value", "reproduced", "note"]
        frame = frame.reindex(columns=[*columns, "tested"])
        frame["reproduced"] = [verdict(r, t) for r, t in zip(frame.reproduced, frame.tested, strict=True)]
        return frame[columns]
    frame = frame.reindex(
        columns=[
            "id", "metric", "comparison", "effect", "ci95_low", "ci95_high", "p_holm", "mde80", "reproduced",
            "tested", "paper_effect", "paper_p_value", "paper_reproduced", "paper_tested", "note", "paper_note",
        ]
    )  # fmt: skip
    rerun_columns = {}
    for label in reruns:
        cells = [(c.get("reruns") or {}).get(label) or {} for c in claims]
        rerun_columns[f"{label}: reproduced"] = [verdict(v.get("reproduced"), v.get("tested")) for v in cells]
    if reruns:
        rerun_columns["same verdict in every study"] = [c.get("same_verdict_in_reruns") for c in claims]
    table = pd.DataFrame(
        {
            "id": frame.id,
            "metric": frame.metric,
            "comparison": frame.comparison,
            "runs: effect": frame.effect,
            "runs: 95 % CI": [
                "" if not np.isfinite(lo) else f"[{lo:.4g}, {hi:.4g}]"
                for lo, hi in zip(frame.ci95_low.astype(float), frame.ci95_high.astype(float), strict=True)
            ],
            "runs: p (Holm)": frame.p_holm,
            "runs: detectable (80 %)": frame.mde80,
            "runs: reproduced": [verdict(r, t) for r, t in zip(frame.reproduced, frame.tested, strict=True)],
            "paper protocol: effect": frame.paper_effect,
            "paper protocol: p": frame.paper_p_value,
            "paper protocol: reproduced": [
                verdict(r, t) for r, t in zip(frame.paper_reproduced, frame.paper_tested, strict=True)
            ],
            "note": [
                "; ".join(n for n in (str(a or ""), str(b or "")) if n and n != "nan")
                for a, b in zip(frame.note, frame.paper_note, strict=True)
            ],
        }
    )
    if not rerun_columns:
        return table
    extra = pd.DataFrame(rerun_columns, index=table.index)
    at = table.columns.get_loc("runs: reproduced") + 1
    return pd.concat([table.iloc[:, :at], extra, table.iloc[:, at:]], axis=1)
