"""The consistency-motion trade-off of reward fine-tuning, run by run (the study issue).

The paper notes that a model fine-tuned with VCD "struggles to generate a video that
contains large motions" (Sec. 5), and its ablations compare dynamic degree after the
same fine-tuning (App. C.3: the L2 and feature-space variants fall further than VCD).
A final score mixes two things: how much consistency a run has bought, and how much
motion it paid for it. A variant that learns faster reaches more consistency *and*
less motion at the same step without trading any worse. So every run keeps its LoRA
after fractions of its steps (``finetune.snapshots``), those snapshots are scored on a
fixed subset (``evaluation.tradeoff``), and each run becomes a **path** in the plane
(consistency to the conditioning image, motion):

- step 0: the base model (a LoRA starts with B = 0, so it *is* the base model);
- each snapshot step;
- the last step: the run's own evaluation videos on the same items and seeds.

The paper's motion claims are then read two ways, each with the fine-tuning run as the
unit (one value per run, Welch's t-test between the two methods' runs, Holm across the
claims of a dataset):

- **at equal steps**: motion after the last step, on the subset;
- **at equal consistency gain**: motion where each run's path reaches the same change
  in consistency over the base model, g* = the largest change *every* run of both
  methods reaches (linear interpolation along the path between the two points that
  bracket it). Where every run loses consistency (as fine-tuning on the embedded toy
  does for some rewards), g* is negative and the reading is at equal *loss*; where the
  runs move in opposite directions there is no common change, and the reading is
  undefined and said so.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .claims import BASELINE, CLAIMS, Claim
from .methods import BASE, snapshot_name, split_replicate, split_snapshot
from .mixed_effects import holm
from .statistics import welch_test

__all__ = [
    "end_points",
    "TRADEOFF_TEST",
    "path_videos",
    "tradeoff_points",
    "motion_at_gain",
    "common_change",
    "motion_claims",
    "read_motion_claims",
    "tradeoff_claims_frame",
    "attach_tradeoff",
]

#: How a trade-off reading of a claim is tested (recorded with each result).
TRADEOFF_TEST = (
    "Welch t-test between the two methods' runs (one value per fine-tuning run: mean over the trade-off "
    "subset's videos), Holm across the claims of a dataset"
)

_KEYS = ["dataset", "reward", "run", "run_seed", "step"]


def path_videos(per_video: pd.DataFrame, runs: Mapping[str, int], steps: Sequence[int], last_step: int) -> pd.DataFrame:
    """The per-video scores placed on each run's trade-off path.

    ``per_video`` holds the base model's, the runs' and their snapshots' videos
    (``<run>~<step>``); ``runs`` maps each run (``vcd``, ``vcd@1``, ...) to its run seed, ``steps`` the
    snapshot steps and ``last_step`` the run's length. Only the items and seeds the
    snapshots were scored on (per dataset) are kept, so every point of every path
    averages the same videos. Adds ``reward``, ``run``, ``run_seed`` and ``step``; the base
    model's videos appear once per run, at step 0. Raises if a snapshot is missing.
    """
    ok = per_video[per_video.status == "ok"]
    parts = []
    for dataset in sorted(set(per_video.dataset)):
        data = ok[ok.dataset == dataset]
        snaps = data[[split_snapshot(m)[1] is not None for m in data.method]]
        if snaps.empty:
            continue
        subset = set(zip(snaps.image_id, snaps.seed, strict=True))
        in_subset = [(i, s) in subset for i, s in zip(data.image_id, data.seed, strict=True)]
        data = data[in_subset]
        for run, seed in runs.items():
            reward = split_replicate(run)[0]
            members = {BASE: 0, run: last_step} | {snapshot_name(run, s): s for s in steps}
            absent = [m for m in members if m not in set(data.method)]
            if absent:
                raise ValueError(f"{dataset}: no scored videos of {absent} for {run}'s trade-off path")
            rows = data[data.method.isin(list(members))]
            parts.append(rows.assign(reward=reward, run=run, run_seed=int(seed), step=rows.method.map(members)))
    if not parts:
        raise ValueError("no trade-off snapshot videos (<run>~<step>) in the per-video table")
    return pd.concat(parts, ignore_index=True)


def tradeoff_points(videos: pd.DataFrame, metrics: Sequence[str]) -> pd.DataFrame:
    """One row per (dataset, run, step): the mean of each metric over the path's videos
    (:func:`path_videos`) and how many videos it averages, sorted along each path."""
    grouped = videos.groupby(_KEYS, sort=True)
    points = grouped[list(metrics)].mean().reset_index()
    points["n_videos"] = grouped.size().to_numpy()
    return points.sort_values(_KEYS, kind="stable").reset_index(drop=True)


def end_points(
    per_video: pd.DataFrame, methods: Sequence[str], paths: pd.DataFrame, metrics: Sequence[str]
) -> pd.DataFrame:
    """Methods without a training path -- the training-free ones (base + FrameInit,
    best-of-N) and those whose runs keep no snapshots (+VCD + FrameInit) -- as single
    points on the trade-off plane: one row per (dataset, method run) with each metric's
    mean over exactly the (item, seed) pairs the paths average (``paths``:
    :func:`path_videos`), so a marker and a path's end are comparable. Adds ``method``
    (the run's method, replicate suffix removed), ``run`` and ``n_videos``. Raises if a
    method lacks some of the subset's videos (a partial mean would not be comparable)."""
    ok = per_video[(per_video.status == "ok") & per_video.method.isin(list(methods))]
    rows = []
    for dataset, on_path in paths.groupby("dataset", sort=True):
        subset = set(zip(on_path.image_id, on_path.seed, strict=True))
        data = ok[ok.dataset == dataset]
        data = data[[(i, s) in subset for i, s in zip(data.image_id, data.seed, strict=True)]]
        for run, videos in data.groupby("method", sort=False):
            if len(videos) != len(subset):
                raise ValueError(
                    f"{dataset}: {run} has {len(videos)} of the trade-off subset's {len(subset)} videos scored"
                )
            means = {m: float(videos[m].mean()) for m in metrics}
            rows.append(
                {"dataset": dataset, "method": split_replicate(run)[0], "run": run, **means, "n_videos": len(videos)}
            )
    return pd.DataFrame(rows, columns=["dataset", "method", "run", *metrics, "n_videos"])


def motion_at_gain(path: pd.DataFrame, consistency: str, motion: str, gain: float) -> float:
    """``motion`` where one run's path first reaches a consistency change of ``gain`` over
    its step-0 point (the base model; a negative ``gain`` is a loss), linearly
    interpolated between the two points that bracket it; NaN if the path never reaches
    it. ``path`` is one run's rows of :func:`tradeoff_points`."""
    if gain == 0:
        raise ValueError("a consistency change must be non-zero (step 0 has change 0)")
    path = path.sort_values("step")
    sign = 1.0 if gain > 0 else -1.0  # a loss is read as a gain of the negated measure
    gains = sign * (path[consistency] - path[consistency].iloc[0]).to_numpy(dtype=float)
    values = path[motion].to_numpy(dtype=float)
    target = sign * gain
    for k in range(1, len(gains)):
        if gains[k] >= target:  # the first such k: gains[k - 1] < target <= gains[k] (gains[0] = 0)
            w = (target - gains[k - 1]) / (gains[k] - gains[k - 1])
            return float(values[k - 1] + w * (values[k] - values[k - 1]))
    return float("nan")


def common_change(paths: Sequence[pd.DataFrame], consistency: str) -> float:
    """The consistency change every one of ``paths`` reaches: where all runs move the same
    way (their last points all above, or all below, the base model), the smallest of their
    largest changes in that direction (negative for a loss); 0 where they do not agree."""
    finals, extremes = [], []
    for path in paths:
        change = path.sort_values("step")[consistency].to_numpy(dtype=float)
        change = change - change[0]
        finals.append(change[-1])
        extremes.append((change.max(), change.min()))
    if all(f > 0 for f in finals):
        return float(min(hi for hi, _ in extremes))
    if all(f < 0 for f in finals):
        return float(max(lo for _, lo in extremes))
    return 0.0


def motion_claims(motions: Collection[str]) -> list[Claim]:
    """The paper's motion claims between two fine-tuned methods (App. C.3; Table 5's
    temporal weight) on the trade-off figure's motion metrics: the ones a path can read."""
    return [c for c in CLAIMS if c.metric in motions and BASE not in (c.first, c.second) and c.second != BASELINE]


def _per_run(points: pd.DataFrame, reward: str, value: Callable[[pd.DataFrame], float]) -> np.ndarray:
    """``value`` of each run's path of ``reward`` (one number per fine-tuning run)."""
    return np.array([value(path) for _, path in points[points.reward == reward].groupby("run", sort=True)])


def _last(metric: str) -> Callable[[pd.DataFrame], float]:
    return lambda path: float(path.sort_values("step")[metric].iloc[-1])


def _at_gain(consistency: str, metric: str, gain: float) -> Callable[[pd.DataFrame], float]:
    return lambda path: motion_at_gain(path, consistency, metric, gain)


def read_motion_claims(points: pd.DataFrame, consistency: str, motions: Collection[str]) -> list[dict[str, Any]]:
    """Each motion claim (:func:`motion_claims`) on each dataset, at equal steps and at
    equal consistency gain (module docstring); the run is the unit of replication.

    Returns one result per (claim, dataset): ``equal_steps`` and ``equal_gain``, each with
    the effect (first minus second, the metric's units), the raw and Holm-adjusted
    p-values, the runs per side and ``reproduced``; ``equal_gain`` also has the change g*
    it reads at (negative: a loss), and a ``note`` where it cannot be read (runs that
    move consistency in opposite directions).
    """
    out: list[dict[str, Any]] = []
    for dataset in sorted(set(points.dataset)):
        data = points[points.dataset == dataset]
        results = []
        for claim in motion_claims(motions):
            result: dict[str, Any] = {
                "id": claim.id,
                "dataset": dataset,
                "metric": claim.metric,
                "consistency": consistency,
                "first": claim.first,
                "second": claim.second,
                "kind": claim.kind,
                "sign": claim.sign,
            }
            if not {claim.first, claim.second} <= set(data.reward):
                result["note"] = f"not evaluated: {sorted({claim.first, claim.second} - set(data.reward))}"
                results.append((claim, result))
                continue
            pair_rewards = (claim.first, claim.second)
            last = [_per_run(data, r, _last(claim.metric)) for r in pair_rewards]
            result["equal_steps"] = _reading(last, step=int(data.step.max()))
            pair = data[data.reward.isin(pair_rewards)]
            gain = common_change([path for _, path in pair.groupby("run")], consistency)
            if gain == 0:
                result["equal_gain"] = _reading(None, gain=gain) | {
                    "note": f"the runs of {claim.first} and {claim.second} do not all move {consistency} the same "
                    "way from the base model: no consistency change all of them reach"
                }
            else:
                at = [_per_run(data, r, _at_gain(consistency, claim.metric, gain)) for r in pair_rewards]
                result["equal_gain"] = _reading(at, gain=gain)
            results.append((claim, result))
        for reading in ("equal_steps", "equal_gain"):
            tested = [(c, r[reading]) for c, r in results if reading in r and np.isfinite(r[reading]["p_value"])]
            for (claim, r), adjusted in zip(tested, holm([r["p_value"] for _, r in tested]), strict=True):
                r["p_holm"] = float(adjusted)
                r["reproduced"] = claim.holds(r["effect"], r["p_holm"])
        out += [r for _, r in results]
    return out


def _reading(values: Sequence[np.ndarray] | None, **extra: Any) -> dict[str, Any]:
    """One reading of a claim: Welch between the two methods' per-run values."""
    if values is None:
        return {"effect": float("nan"), "p_value": float("nan"), "p_holm": float("nan"), "reproduced": False} | extra
    test = welch_test(values[0], values[1])
    return {
        "effect": test["effect"],
        "p_value": test["p_value"],
        "p_holm": float("nan"),
        "reproduced": False,
        "n_runs": [test["n_a"], test["n_b"]],
        "values": [list(map(float, v)) for v in values],
        "test": TRADEOFF_TEST,
    } | extra


def tradeoff_claims_frame(results: Sequence[dict[str, Any]]) -> pd.DataFrame:
    """The two readings of each motion claim as the table the report prints."""
    from .methods import method_label

    rows = []
    for r in results:
        steps, gain = r.get("equal_steps") or {}, r.get("equal_gain") or {}
        rows.append(
            {
                "id": r["id"],
                "dataset": r["dataset"],
                "metric": r["metric"],
                "comparison": f"{method_label(r['first'])} {r['sign']} {method_label(r['second'])}",
                "equal steps: effect": steps.get("effect", np.nan),
                "equal steps: p (Holm)": steps.get("p_holm", np.nan),
                "equal steps: reproduced": bool(steps.get("reproduced", False)),
                "equal gain: change g*": gain.get("gain", np.nan),
                "equal gain: effect": gain.get("effect", np.nan),
                "equal gain: p (Holm)": gain.get("p_holm", np.nan),
                "equal gain: reproduced": bool(gain.get("reproduced", False)),
                "note": "; ".join(n for n in (r.get("note", ""), gain.get("note", "")) if n),
            }
        )
    return pd.DataFrame(rows)


def attach_tradeoff(claims: Sequence[dict[str, Any]], readings: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """The claims (:func:`vcd.claims.evaluate_study_claims`) with each motion claim's two
    trade-off readings (:func:`read_motion_claims`) added as ``tradeoff_equal_steps`` and
    ``tradeoff_equal_gain``; the other claims are returned unchanged."""
    by_key = {(r["id"], r["dataset"]): r for r in readings}
    out = []
    for claim in claims:
        reading = by_key.get((claim["id"].split("@")[0], claim["dataset"]))
        if reading is None or "equal_steps" not in reading:
            out.append(dict(claim))
            continue
        out.append(
            dict(claim) | {"tradeoff_equal_steps": reading["equal_steps"], "tradeoff_equal_gain": reading["equal_gain"]}
        )
    return out
