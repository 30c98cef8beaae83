"""Run official VBench-I2V dimensions on the pipeline's videos (inside .envs/vbench).

    .envs/vbench/bin/python scripts/official/run_vbench.py --methods base vcd frame_consistency

For every (method, dataset) it writes a VBench-format info file listing each video
with its conditioning image (``custom_image_path``, as VBench-I2V's loader accepts),
calls each dimension's ``compute_<dimension>`` and saves
``results/official/vbench/<method>_<dataset>_eval_results.json`` in VBench's own
output structure ``{dimension: [aggregate, per-video results]}``, which
``vcd.official.parse_vbench`` reads. The VBench commit is recorded alongside.

This script runs only in the VBench environment (scripts/official/setup_envs.sh); it
does not import the vcd package, whose dependencies differ.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
from pathlib import Path

I2V_DIMENSIONS = {"i2v_subject", "i2v_background", "camera_motion"}
DIMENSIONS = [
    "i2v_subject",
    "i2v_background",
    "subject_consistency",
    "background_consistency",
    "temporal_flickering",
    "camera_motion",
    "motion_smoothness",
    "dynamic_degree",
    "aesthetic_quality",
    "imaging_quality",
    "overall_consistency",
]


def video_name(prompt: str, seed: int) -> str:  # the same rule as vcd.evaluation.video_name
    return f"{prompt.replace('/', '_').replace(chr(92), '_')}-{int(seed)}.mp4"


def build_info(split_json: Path, video_dir: Path, seeds: list[int], dimensions: list[str]) -> list[dict]:
    split = json.loads(split_json.read_text())
    entries = []
    for item in split["items"]:
        videos = [str(video_dir / video_name(item["caption"], s)) for s in seeds]
        videos = [v for v in videos if os.path.isfile(v)]
        entries.append(
            {
                "prompt_en": item["caption"],
                "dimension": dimensions,
                "video_list": videos,
                "custom_image_path": str((split_json.parent / item["image"]).resolve()),
            }
        )
    return entries


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--methods", nargs="+", required=True)
    parser.add_argument("--datasets", nargs="+", default=["embedded"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--dimensions", nargs="+", default=DIMENSIONS)
    parser.add_argument("--videos", default="results/videos")
    parser.add_argument("--splits", default="data/splits")
    parser.add_argument("--out", default="results/official/vbench")
    parser.add_argument("--resolution", default="1-1", help="VBench-I2V crop folder used by its image transforms")
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()

    import torch
    from vbench.utils import init_submodules as init_vbench
    from vbench2_beta_i2v.utils import init_submodules as init_i2v

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    device = torch.device(args.device)
    standard = [d for d in args.dimensions if d not in I2V_DIMENSIONS]
    i2v = [d for d in args.dimensions if d in I2V_DIMENSIONS]
    submodules = {**init_vbench(standard), **init_i2v(i2v, resolution=args.resolution)}
    for method in args.methods:
        for dataset in args.datasets:
            info = build_info(
                Path(args.splits) / dataset / "eval.json",
                Path(args.videos) / method / dataset,
                args.seeds,
                args.dimensions,
            )
            info_path = out / f"{method}_{dataset}_full_info.json"
            info_path.write_text(json.dumps(info, indent=1))
            results = {}
            for dimension in args.dimensions:
                package = "vbench2_beta_i2v" if dimension in I2V_DIMENSIONS else "vbench"
                compute = getattr(importlib.import_module(f"{package}.{dimension}"), f"compute_{dimension}")
                results[dimension] = compute(str(info_path), device, submodules[dimension])
            (out / f"{method}_{dataset}_eval_results.json").write_text(json.dumps(results, indent=1, default=float))
    commit_file = Path(os.environ.get("VIRTUAL_ENV", ".envs/vbench")) / "VBENCH_COMMIT"
    (out / "VBENCH_COMMIT").write_text(commit_file.read_text() if commit_file.is_file() else "unknown\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
