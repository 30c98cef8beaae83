"""Official VBench-I2V and VideoScore results, parsed into the same per-video table.

The official benchmarks need GPUs, downloaded weights and library versions that clash
with this project's (VBench pins transformers 4.33, VideoScore needs ~4.45) -- so they
run in their own environments (``scripts/official/``), on the videos the pipeline
wrote, and leave result files in their native formats:

* VBench (``VBench.evaluate`` / ``VBenchI2V.evaluate``): ``{name}_eval_results.json``
  = ``{dimension: [aggregate, [{"video_path": ..., "video_results": ...}, ...]]}``;
  ``scripts/official/run_vbench.py`` writes the same structure.
* VideoScore (``benchmark/eval_videoscore.py``): a JSON list of
  ``{"id", "text", "ref", "ans"}`` where ``ans`` is the string of five scores
  (visual quality, temporal consistency, dynamic degree, text-to-video alignment,
  factual consistency); ``scripts/official/run_videoscore.py`` writes that format with
  ``id`` = the video file name without extension.

The parsers map each video back to (prompt, seed) through VBench's file naming
``{prompt}-{seed}.mp4`` and return columns ``vbench_<dimension>`` and
``videoscore_<aspect>`` that :func:`merge_official` joins onto the per-video table.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from .columns import VIDEOSCORE_ASPECTS
from .layout import Layout, split_video_name

__all__ = ["parse_vbench", "parse_videoscore", "merge_official", "load_official"]


def parse_vbench(path: str | Path, method: str, dataset: str) -> pd.DataFrame:
    """Per-video VBench scores from an ``*_eval_results.json``: one row per video with a
    ``vbench_<dimension>`` column per dimension found (booleans become 0/1)."""
    results = json.loads(Path(path).read_text())
    records: dict[tuple[str, int], dict] = {}
    for dimension, value in results.items():
        if not (isinstance(value, list) and len(value) == 2 and isinstance(value[1], list)):
            raise ValueError(f"{path}: dimension {dimension!r} is not [aggregate, per-video list] as VBench writes it")
        for entry in value[1]:
            prompt, seed = split_video_name(entry["video_path"])
            score = entry["video_results"]
            row = records.setdefault(
                (prompt, seed), {"method": method, "dataset": dataset, "prompt": prompt, "seed": seed}
            )
            row[f"vbench_{dimension}"] = float(score) if not isinstance(score, (list, dict)) else float("nan")
    return pd.DataFrame(list(records.values()))


def parse_videoscore(path: str | Path, method: str, dataset: str) -> pd.DataFrame:
    """Per-video VideoScore aspects from VideoScore's result JSON (``ans`` strings)."""
    entries = json.loads(Path(path).read_text())
    rows = []
    for entry in entries:
        prompt, seed = split_video_name(entry["id"])
        scores = ast.literal_eval(entry["ans"]) if isinstance(entry["ans"], str) else entry["ans"]
        if len(scores) != len(VIDEOSCORE_ASPECTS):
            raise ValueError(
                f"{path}: {entry['id']} has {len(scores)} scores, VideoScore gives {len(VIDEOSCORE_ASPECTS)}"
            )
        rows.append(
            {
                "method": method,
                "dataset": dataset,
                "prompt": prompt,
                "seed": seed,
                **{f"videoscore_{a}": float(s) for a, s in zip(VIDEOSCORE_ASPECTS, scores)},
            }
        )
    return pd.DataFrame(rows)


def merge_official(per_video: pd.DataFrame, official: list[pd.DataFrame]) -> pd.DataFrame:
    """Join parsed official scores onto the per-video table by (method, dataset, prompt,
    seed); videos without an official score keep NaN in those columns."""
    out = per_video
    for frame in official:
        if frame.empty:
            continue
        out = out.merge(frame, on=["method", "dataset", "prompt", "seed"], how="left", validate="one_to_one")
    return out


def load_official(
    layout: Layout, methods: Sequence[str], datasets: Sequence[str]
) -> tuple[list[pd.DataFrame], list[str]]:
    """Every official result file of the layout for the methods and datasets, parsed;
    plus the list of expected files that are missing."""
    frames, missing = [], []
    for method in methods:
        for dataset in datasets:
            for path, parse in (
                (layout.vbench_results(method, dataset), parse_vbench),
                (layout.videoscore_results(method, dataset), parse_videoscore),
            ):
                if path.is_file():
                    frames.append(parse(path, method, dataset))
                else:
                    missing.append(layout.relative(path))
    return frames, missing
