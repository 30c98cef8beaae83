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
import re
from pathlib import Path

import pandas as pd

__all__ = ["VBENCH_DIMENSIONS", "VIDEOSCORE_ASPECTS", "split_video_name", "parse_vbench", "parse_videoscore", "merge_official",
           "official_metrics", "load_official"]

#: VBench-I2V's dimensions in the paper's Table 2 (overall_consistency = ViCLIP video-text alignment)
VBENCH_DIMENSIONS = ("i2v_subject", "i2v_background", "subject_consistency", "background_consistency", "temporal_flickering",
                     "camera_motion", "motion_smoothness", "dynamic_degree", "aesthetic_quality", "imaging_quality",
                     "overall_consistency")
#: VideoScore's five outputs, in order (He et al. 2024)
VIDEOSCORE_ASPECTS = ("visual_quality", "temporal_consistency", "dynamic_degree", "text_to_video_alignment", "factual_consistency")

_NAME = re.compile(r"^(?P<prompt>.*)-(?P<seed>\d+)$")


def split_video_name(path: str) -> tuple[str, int]:
    """``".../a cat, camera pans left-3.mp4"`` -> ("a cat, camera pans left", 3)."""
    stem = Path(str(path)).name
    stem = stem[: -len(Path(stem).suffix)] if Path(stem).suffix else stem
    match = _NAME.match(stem)
    if not match:
        raise ValueError(f"{path}: not a VBench video name '{{prompt}}-{{seed}}.mp4'")
    return match.group("prompt"), int(match.group("seed"))


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
            row = records.setdefault((prompt, seed), {"method": method, "dataset": dataset, "prompt": prompt, "seed": seed})
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
            raise ValueError(f"{path}: {entry['id']} has {len(scores)} scores, VideoScore gives {len(VIDEOSCORE_ASPECTS)}")
        rows.append({"method": method, "dataset": dataset, "prompt": prompt, "seed": seed,
                     **{f"videoscore_{a}": float(s) for a, s in zip(VIDEOSCORE_ASPECTS, scores)}})
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


def official_metrics() -> dict:
    """Display information for the official columns (see ``vcd.evaluation.METRICS``)."""
    from .evaluation import MetricInfo

    info = {}
    for dim in VBENCH_DIMENSIONS:
        label = "Video-Text Alignment (ViCLIP)" if dim == "overall_consistency" else dim.replace("_", " ").title()
        info[f"vbench_{dim}"] = MetricInfo(f"{label} (VBench)", "official", True, f"VBench {dim}")
    for aspect in VIDEOSCORE_ASPECTS:
        info[f"videoscore_{aspect}"] = MetricInfo(f"{aspect.replace('_', ' ').title()} (VideoScore)", "official", True,
                                                 f"VideoScore {aspect}", percent=False)
    return info


def load_official(folder: str | Path, methods, datasets) -> tuple[list[pd.DataFrame], list[str]]:
    """Every official result file found under ``folder`` for the methods and datasets,
    parsed; plus the list of expected files that are missing."""
    folder = Path(folder)
    frames, missing = [], []
    for method in methods:
        for dataset in datasets:
            for path, parse in ((folder / "vbench" / f"{method}_{dataset}_eval_results.json", parse_vbench),
                                (folder / "videoscore" / f"{method}_{dataset}.json", parse_videoscore)):
                if path.is_file():
                    frames.append(parse(path, method, dataset))
                else:
                    missing.append(str(path))
    return frames, missing
