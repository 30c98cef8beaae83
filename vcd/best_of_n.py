"""Best-of-N selection at sampling time: no training, N times the sampling.

The base model samples N candidate videos per (evaluation item, seed); a scorer keeps
the best one. Scorers are VCD (Eq. 2 of the paper, lowest wins: the evaluation's own
``vcd`` column, x_cnd = x_1 and the temporal weight) and the learned consistency
rewards of :mod:`vcd.reward_models` (highest wins), as ICReward ranks five Open-Sora
samples per image by its reward (``../shared/papers/002_...``, "Naive Sampling
Evaluation").

The candidates are one pseudo-method, :data:`vcd.methods.CANDIDATES`, whose videos are
generated and scored once for every scorer: candidate ``k`` of seed ``s`` is sampled
with seed :func:`candidate_seed` ``(s, k)`` (candidate 0 has the seed's own noise).
A best-of-N method's videos are the chosen candidates, linked into its own folder under
VBench's naming with the evaluation seed, so every table, claim and the official
evaluation see it like any method. The gain as a function of N comes from the same
candidates: the best of the first N' for every N' <= N (:func:`best_of_curve`).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

__all__ = [
    "CANDIDATE_STRIDE",
    "candidate_seed",
    "candidate_seeds",
    "split_candidate_seed",
    "higher_is_better",
    "select_best",
    "best_of_curve",
    "link_video",
]

#: candidate k of seed s is sampled with seed s + k * CANDIDATE_STRIDE (seeds stay distinct
#: for evaluation seeds below the stride)
CANDIDATE_STRIDE = 1_000_000


def candidate_seed(seed: int, k: int) -> int:
    """The sampling seed of candidate ``k`` (0-based) of evaluation seed ``seed``."""
    if not 0 <= int(seed) < CANDIDATE_STRIDE:
        raise ValueError(f"best-of-N needs evaluation seeds in [0, {CANDIDATE_STRIDE}); got {seed}")
    if int(k) < 0:
        raise ValueError(f"candidate index must be >= 0; got {k}")
    return int(seed) + int(k) * CANDIDATE_STRIDE


def candidate_seeds(seeds: Sequence[int], n: int) -> tuple[int, ...]:
    """Every candidate's sampling seed: for each evaluation seed, candidates 0..n-1."""
    return tuple(candidate_seed(s, k) for s in seeds for k in range(int(n)))


def split_candidate_seed(seed: int) -> tuple[int, int]:
    """A candidate's sampling seed -> (evaluation seed, candidate index)."""
    return int(seed) % CANDIDATE_STRIDE, int(seed) // CANDIDATE_STRIDE


def higher_is_better(scorer: str) -> bool:
    """VCD is a distance (lower wins); the learned rewards are scores (higher wins)."""
    return scorer != "vcd"


def select_best(candidates: pd.DataFrame, scorer: str, n: int) -> pd.DataFrame:
    """Per (dataset, item, evaluation seed), the row of the best of the first ``n``
    candidates by ``scorer`` (a column of ``candidates``); ties go to the lower index.
    Excluded candidates (``status`` not ok, or no score) never win; a key whose
    candidates are all excluded keeps candidate 0's row, excluded, so nothing is
    dropped. Adds ``eval_seed`` and ``candidate``."""
    if scorer not in candidates:
        raise KeyError(f"candidates have no {scorer!r} scores")
    split = np.array([split_candidate_seed(s) for s in candidates["seed"]], dtype=np.int64).reshape(-1, 2)
    table = candidates.assign(eval_seed=split[:, 0], candidate=split[:, 1])
    table = table[table.candidate < int(n)]
    score = table[scorer].astype(float)
    usable = (table["status"] == "ok") & score.notna()
    # rank key: usable first, then the best score, then the lowest candidate index
    key = np.where(usable, -score if higher_is_better(scorer) else score, np.inf)
    table = table.assign(_key=key, _usable=~usable)
    order = table.sort_values(["dataset", "image_id", "eval_seed", "_usable", "_key", "candidate"], kind="stable")
    best = order.groupby(["dataset", "image_id", "eval_seed"], sort=False).head(1)
    return best.drop(columns=["_key", "_usable"]).reset_index(drop=True)


def best_of_curve(candidates: pd.DataFrame, scorers: Sequence[str], metrics: Sequence[str], n: int) -> pd.DataFrame:
    """The mean of each metric over the selected videos, for the best of N' = 1..n
    candidates by each scorer, with the standard error over items (the unit: an item's
    mean over its seeds). N' = 1 is candidate 0 for every scorer: plain sampling."""
    rows = []
    for scorer in scorers:
        for count in range(1, int(n) + 1):
            chosen = select_best(candidates, scorer, count)
            chosen = chosen[chosen.status == "ok"]
            per_item = chosen.groupby(["dataset", "image_id"])[list(metrics)].mean()
            for metric in metrics:
                values = per_item[metric].dropna()
                rows.append(
                    {
                        "scorer": scorer,
                        "n": count,
                        "metric": metric,
                        "mean": float(values.mean()),
                        "sem": float(values.std(ddof=1) / np.sqrt(len(values))) if len(values) > 1 else np.nan,
                        "items": int(len(values)),
                    }
                )
    return pd.DataFrame(rows)


def link_video(source: Path, target: Path) -> None:
    """Put ``source`` at ``target`` (a hard link where the file system allows it, else a
    copy), replacing what was there atomically."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    if tmp.exists():
        tmp.unlink()
    try:
        os.link(source, tmp)
    except OSError:
        shutil.copyfile(source, tmp)
    os.replace(tmp, target)


def chosen_rows(best: pd.DataFrame, method: str, files: Mapping[tuple[str, str, int], str]) -> pd.DataFrame:
    """The selected candidates' rows as the rows of ``method``: its name, the evaluation
    seed as ``seed``, its own file (``files[(dataset, image_id, seed)]``) and which
    candidate it is."""
    rows = best.assign(method=method, seed=best["eval_seed"])
    rows["file"] = [files[(d, i, int(s))] for d, i, s in zip(rows.dataset, rows.image_id, rows.seed, strict=True)]
    return rows.drop(columns=["eval_seed"])


def learned_scores(
    per_video: pd.DataFrame, layout, items, scorers: Mapping[str, object], device: str = "cpu", progress: bool = True
) -> pd.DataFrame:
    """``per_video`` with a column per learned scorer (:func:`vcd.reward_models.load_scorer`):
    each usable video read back from its MP4 once and scored by every scorer against its
    item's conditioning image, at the frames that scorer was trained on; excluded videos
    get NaN."""
    import torch
    from tqdm.auto import tqdm

    from .frames import load_image, to_tensor, video_to_tensor
    from .video_io import read_video

    images = {(it.dataset, it.id): it.image for it in items}
    out = per_video.copy()
    frames = {name: list(scorer.record.get("frames", [])) for name, scorer in scorers.items()}
    values = {name: np.full(len(out), np.nan) for name in scorers}
    rows = list(out.itertuples(index=False))
    for k, row in enumerate(tqdm(rows, desc=f"scoring by {', '.join(scorers)}", disable=not progress or not scorers)):
        if row.status != "ok" or not scorers:
            continue
        video = video_to_tensor(read_video(layout.resolve(row.file))).to(device)
        cond = to_tensor(load_image(images[(row.dataset, row.image_id)])).unsqueeze(0).to(device)
        with torch.no_grad():
            for name, scorer in scorers.items():
                clip = video[frames[name]] if frames[name] else video
                values[name][k] = float(scorer(cond, clip.unsqueeze(0))[0])
    for name in scorers:
        out[name] = values[name]
    return out
