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

**What VBench-I2V scores on which prompt.** VBench-I2V does not score every video on
every dimension: each entry of its full-info JSON (``vbench2_i2v_full_info.json``) lists
the dimensions its prompt belongs to, and each ``compute_<dimension>`` keeps only the
entries that name it (``load_dimension_info`` / ``load_i2v_dimension_info``). Of the
1,118 prompts, the 246 subject prompts carry i2v_subject, subject_consistency,
motion_smoothness and dynamic_degree; the 109 background prompts i2v_background and
background_consistency; all 355 image prompts aesthetic_quality, imaging_quality and
temporal_flickering; the 763 camera-motion variants only camera_motion.
:func:`write_vbench_jobs` keeps each VBench-I2V item's own list (data.vbench_i2v keeps it
in ``extra["dimension"]``); the paper's video-text alignment (ViCLIP,
``overall_consistency``) goes with the all-prompt dimensions. I2V-Bench, AI-ArtBench and
the embedded set have no such lists: their videos are scored on every image dimension
except camera_motion, which needs a camera phrase in the prompt.

The image of a pair is found as ``vbench2_beta_i2v/data/crop/{resolution}/{image_name}``
relative to the working directory. The jobs file therefore names, per info file, the
folder of the conditioning images the videos were generated from (the pipeline's
``conditioning/`` PNGs, already at the generation size), and the runner links that
folder under the crop path in a scratch directory before it calls VBench.
"""

from __future__ import annotations

import argparse
import ast
import json
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .columns import VIDEOSCORE_ASPECTS
from .data import Item
from .files import write_json
from .layout import Layout, conditioning_name, split_video_name

__all__ = [
    "I2V_DIMENSIONS",
    "QUALITY_DIMENSIONS",
    "VBENCH_DIMENSIONS",
    "ALL_PROMPT_DIMENSIONS",
    "dimensions_for",
    "vbench_info_entries",
    "write_vbench_jobs",
    "parse_vbench",
    "parse_videoscore",
    "merge_official",
    "load_official",
]

#: VBench-I2V's own dimensions (``vbench2_beta_i2v/``): they compare with the image
I2V_DIMENSIONS: tuple[str, ...] = ("i2v_subject", "i2v_background", "camera_motion")
#: the quality dimensions VBench-I2V reuses from ``vbench/``
QUALITY_DIMENSIONS: tuple[str, ...] = (
    "subject_consistency",
    "background_consistency",
    "motion_smoothness",
    "dynamic_degree",
    "aesthetic_quality",
    "imaging_quality",
    "temporal_flickering",
)
#: what the paper reports (Sec. 4.1: ten VBench-I2V dimensions + ViCLIP video-text alignment)
VBENCH_DIMENSIONS: tuple[str, ...] = (*I2V_DIMENSIONS, *QUALITY_DIMENSIONS, "overall_consistency")
#: VBench-I2V's dimensions of every image prompt; ``overall_consistency`` goes with them
ALL_PROMPT_DIMENSIONS: tuple[str, ...] = ("aesthetic_quality", "imaging_quality", "temporal_flickering")


def dimensions_for(item: Item, requested: Sequence[str]) -> list[str]:
    """The dimensions of ``requested`` VBench-I2V scores ``item``'s videos on.

    A VBench-I2V item keeps its prompt's list from the full-info JSON (its subset);
    ``overall_consistency`` (video-text alignment) joins the prompts of the all-prompt
    dimensions. Items of other datasets get every requested dimension but
    camera_motion, whose prompt must name a camera motion.
    """
    unknown = [d for d in requested if d not in VBENCH_DIMENSIONS]
    if unknown:
        raise ValueError(f"unknown VBench dimension(s) {unknown}; expected some of {list(VBENCH_DIMENSIONS)}")
    listed = item.extra.get("dimension")
    if listed is None:
        return [d for d in requested if d != "camera_motion"]
    own = set(listed)
    if own & set(ALL_PROMPT_DIMENSIONS):
        own.add("overall_consistency")
    return [d for d in requested if d in own]


def vbench_info_entries(
    layout: Layout, method: str, dataset: str, items: Iterable[Item], seeds: Sequence[int], requested: Sequence[str]
) -> tuple[list[dict[str, Any]], list[str]]:
    """VBench's info-JSON entries for one method's videos of one dataset, and the
    expected videos that do not exist (left out of ``video_list``, reported).

    Each entry has VBench's keys: ``prompt_en``, ``dimension`` (:func:`dimensions_for`),
    ``video_list`` (absolute paths of ``{prompt}-{seed}.mp4``) and ``image_name``
    (the conditioning PNG, relative to the job's image folder).
    """
    entries, missing = [], []
    for item in items:
        dimensions = dimensions_for(item, requested)
        if not dimensions:
            continue
        videos = [layout.video_file(method, dataset, item.caption, seed) for seed in seeds]
        missing += [layout.relative(v) for v in videos if not v.is_file()]
        entries.append(
            {
                "prompt_en": item.caption,
                "dimension": dimensions,
                "video_list": [str(v.resolve()) for v in videos if v.is_file()],
                "image_name": f"{conditioning_name(item.caption)}.png",
            }
        )
    return entries, missing


def write_vbench_jobs(
    layout: Layout,
    methods: Sequence[str],
    datasets: Sequence[str],
    items_of: dict[str, list[Item]],
    seeds: Sequence[int] | Callable[[str], Sequence[int]],
    requested: Sequence[str] = VBENCH_DIMENSIONS,
) -> tuple[Path, list[str]]:
    """Write one info JSON per (method, dataset) and the jobs file the VBench runner
    reads (``results/official/vbench/jobs.json``); returns it and the missing videos.
    ``seeds`` are the sampling seeds of every method's videos, or a function of the
    method (``EvalConfig.seeds_of``: a replicate run has fewer).

    Raises before writing anything when an image folder or every video of a job is
    missing: the runner would spend GPU time on an empty or unpaired evaluation.
    """
    jobs, missing, planned = [], [], []
    for method in methods:
        for dataset in datasets:
            images = layout.conditioning_dir(method, dataset)
            own = seeds(method) if callable(seeds) else seeds
            entries, absent = vbench_info_entries(layout, method, dataset, items_of[dataset], own, requested)
            if not images.is_dir() or not any(e["video_list"] for e in entries):
                folder = layout.relative(layout.method_videos(method, dataset))
                raise FileNotFoundError(
                    f"no videos of {method!r} on {dataset!r} under {folder} (run the evaluate stage first: `dvc repro`)"
                )
            for entry in entries:
                image = images / entry["image_name"]
                if entry["video_list"] and not image.is_file():
                    raise FileNotFoundError(f"conditioning image {layout.relative(image)} of {entry['prompt_en']!r}")
            planned.append((method, dataset, images, entries))
            missing += absent
    for method, dataset, images, entries in planned:
        info = write_json(layout.vbench_info(method, dataset), entries)
        jobs.append(
            {
                "method": method,
                "dataset": dataset,
                "info": str(info.resolve()),
                "images": str(images.resolve()),
                "results": str(layout.vbench_results(method, dataset).resolve()),
                "pairs": str(layout.vbench_pairs(method, dataset).resolve()),
                "versions": str(layout.vbench_versions(method, dataset).resolve()),
                "dimensions": sorted({d for e in entries for d in e["dimension"]}, key=VBENCH_DIMENSIONS.index),
            }
        )
    return write_json(layout.vbench_jobs, jobs), missing


def parse_vbench(path: str | Path, method: str, dataset: str) -> pd.DataFrame:
    """Per-video VBench scores from an ``*_eval_results.json``: one row per video with a
    ``vbench_<dimension>`` column per dimension found (booleans become 0/1)."""
    results = json.loads(Path(path).read_text())
    records: dict[tuple[str, int], dict] = {}
    for dimension, value in results.items():
        # [aggregate, per-video]; camera_motion adds its per-motion-type means in between
        if not (isinstance(value, list) and len(value) in (2, 3) and isinstance(value[-1], list)):
            raise ValueError(
                f"{path}: dimension {dimension!r} is not [aggregate, (per-type,) per-video list] as VBench writes it"
            )
        for entry in value[-1]:
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


def _joinable(per_video: pd.DataFrame) -> pd.DataFrame:
    """The per-video table keyed like the parsed files: the official tools see only the
    file name, i.e. ``conditioning_name(prompt)`` (path separators replaced)."""
    return per_video.assign(_stem=per_video["prompt"].map(conditioning_name))


def _keyed(official: pd.DataFrame) -> pd.DataFrame:
    return official.rename(columns={"prompt": "_stem"})


_KEYS = ["method", "dataset", "_stem", "seed"]


def merge_official(per_video: pd.DataFrame, official: list[pd.DataFrame]) -> pd.DataFrame:
    """Join parsed official scores onto the per-video table by (method, dataset, video
    file name, seed); videos without an official score keep NaN in those columns."""
    out = _joinable(per_video)
    for frame in official:
        if frame.empty:
            continue
        out = out.merge(_keyed(frame), on=_KEYS, how="left", validate="one_to_one")
    return out.drop(columns="_stem")


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


def expected_pairs(job: dict) -> dict[str, list[list[str | None]]]:
    """Per dimension of a job, the (image, video) pairs VBench-I2V must select from its
    info file: every video of every entry that lists the dimension, with the entry's
    own conditioning image for i2v_subject / i2v_background (None for the others)."""
    entries = json.loads(Path(job["info"]).read_text(encoding="utf-8"))
    images = Path(job["images"]).resolve()
    out: dict[str, list[list[str | None]]] = {}
    for dimension in job["dimensions"]:
        paired = dimension in ("i2v_subject", "i2v_background")
        out[dimension] = [
            [str(images / e["image_name"]) if paired else None, video]
            for e in entries
            if dimension in e["dimension"]
            for video in e["video_list"]
        ]
    return out


def check_pairs(jobs_file: str | Path) -> list[str]:
    """Compare what VBench's loaders selected (``run_vbench.py --pairs``) with
    :func:`expected_pairs`; the problems found (empty: VBench scores each dimension on
    exactly its prompt subset, each video against its own image)."""
    problems = []
    for job in json.loads(Path(jobs_file).read_text(encoding="utf-8")):
        name = f"{job['method']}/{job['dataset']}"
        pairs_file = Path(job["pairs"])
        if not pairs_file.is_file():
            problems.append(f"{name}: {pairs_file} missing (run scripts/official/run_vbench.py --pairs)")
            continue
        found = json.loads(pairs_file.read_text(encoding="utf-8"))
        for dimension, expected in expected_pairs(job).items():
            got = sorted(map(tuple, found.get(dimension, [])), key=str)
            want = sorted(map(tuple, expected), key=str)
            if got != want:
                extra = sorted(set(got) - set(want), key=str)[:3]
                lost = sorted(set(want) - set(got), key=str)[:3]
                problems.append(
                    f"{name} {dimension}: VBench selected {len(got)} pair(s), expected {len(want)}; "
                    f"unexpected {extra}, not selected {lost}"
                )
    return problems


def compare_flickering(jobs_file: str | Path, per_video: pd.DataFrame) -> pd.DataFrame:
    """VBench's own per-video temporal_flickering next to the project's
    (``vcd.video_metrics.temporal_flickering`` in the per-video table), one row per video."""
    rows = []
    for job in json.loads(Path(jobs_file).read_text(encoding="utf-8")):
        frame = parse_vbench(job["results"], job["method"], job["dataset"])
        if "vbench_temporal_flickering" not in frame:
            raise ValueError(f"{job['results']} has no temporal_flickering")
        rows.append(_keyed(frame[["method", "dataset", "prompt", "seed", "vbench_temporal_flickering"]]))
    official = pd.concat(rows, ignore_index=True)
    ours = _joinable(per_video)[[*_KEYS, "prompt", "temporal_flickering"]]
    merged = official.merge(ours, on=_KEYS, how="left", validate="one_to_one").drop(columns="_stem")
    merged["abs_diff"] = (merged["vbench_temporal_flickering"] - merged["temporal_flickering"]).abs()
    return merged


def _main(argv: list[str] | None = None) -> int:
    from .data import read_split
    from .settings import Settings

    parser = argparse.ArgumentParser(
        prog="python -m vcd.official",
        description="VBench-I2V's info files and jobs for the pipeline's videos, and the check of its results.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    prepare = sub.add_parser("prepare", help="info JSON per (method, dataset) + jobs.json, from params.yaml")
    prepare.add_argument("--methods", nargs="+", help="default: base and every run of every methods.rewards")
    prepare.add_argument("--datasets", nargs="+", help="default: evaluation.datasets")
    prepare.add_argument("--dimensions", nargs="+", default=list(VBENCH_DIMENSIONS))
    check = sub.add_parser("check", help="compare VBench's own selections and flickering with the project's")
    check.add_argument("--atol", type=float, default=1e-6, help="largest |VBench - project| flickering accepted")
    check.add_argument("--record", type=Path, help="write the outcome as JSON here (benchmarks/results/...)")
    args = parser.parse_args(argv)
    layout = Layout.discover()
    if args.command == "check":
        return _check(layout, args.atol, args.record)
    settings = Settings.load(layout.params_file)
    methods = args.methods or list(settings.study_methods)
    datasets = args.datasets or list(settings.evaluation.datasets)
    items_of = {d: read_split(layout, d, "eval") for d in datasets}
    jobs, missing = write_vbench_jobs(
        layout, methods, datasets, items_of, settings.evaluation.seeds_of, args.dimensions
    )
    print(f"{layout.relative(jobs)}: {len(methods) * len(datasets)} job(s); missing videos: {len(missing)}")
    for path in missing[:20]:
        print(f"  missing {path}")
    return 0


def _check(layout: Layout, atol: float, record: Path | None) -> int:
    """``python -m vcd.official check``: the CPU check of the official path."""
    from .evaluation import collect_per_video
    from .provenance import code_version
    from .settings import Settings

    settings = Settings.load(layout.params_file)
    jobs = json.loads(layout.vbench_jobs.read_text(encoding="utf-8"))
    problems = check_pairs(layout.vbench_jobs)
    per_video, _ = collect_per_video(layout, sorted({j["method"] for j in jobs}), settings.evaluation.datasets)
    flicker = compare_flickering(layout.vbench_jobs, per_video)
    unmatched = int(flicker["temporal_flickering"].isna().sum())
    worst = float(flicker["abs_diff"].max())
    if unmatched:
        problems.append(f"{unmatched} VBench video(s) have no row in the project's per-video tables")
    if not worst <= atol:
        problems.append(f"temporal_flickering differs from VBench's by up to {worst:.3g} (> {atol:g})")
    versions = {}
    for job in jobs:
        stamp = Path(job["versions"])
        if stamp.is_file():
            versions = json.loads(stamp.read_text(encoding="utf-8"))
    outcome = {
        "code_version": code_version(layout.root),
        "profile": settings.profile,
        "vbench_environment": versions,
        "jobs": [f"{j['method']}/{j['dataset']}" for j in jobs],
        "videos_compared": int(len(flicker)),
        "temporal_flickering_max_abs_diff": worst,
        "temporal_flickering_mean_abs_diff": float(flicker["abs_diff"].mean()),
        "atol": atol,
        "pairs_checked": {d: int(sum(len(expected_pairs(j).get(d, [])) for j in jobs)) for d in VBENCH_DIMENSIONS},
        "problems": problems,
        "passed": not problems,
    }
    if record:
        write_json(record, outcome)
    print(json.dumps({k: outcome[k] for k in ("videos_compared", "temporal_flickering_max_abs_diff", "passed")}))
    for problem in problems:
        print(f"  {problem}")
    return 0 if not problems else 1


if __name__ == "__main__":
    raise SystemExit(_main())
