"""Run VBench-I2V's own code on the jobs ``python -m vcd.official prepare`` wrote.

    .envs/vbench/bin/python scripts/official/run_vbench.py                 # every job
    .envs/vbench/bin/python scripts/official/run_vbench.py --device cpu --dimensions temporal_flickering

Runs only in the VBench environment (``scripts/official/setup_envs.sh``: the ``vbench``
release from PyPI with its own pins); it does not import the vcd package, whose pins
differ. The project decides what is scored (``results/official/vbench/jobs.json``: per
method and dataset an info JSON in VBench's full-info format, the folder of the
conditioning images, the result file); this script only calls VBench:

* each dimension's ``compute_<dimension>(info, device, submodules)``, which selects its
  own prompt subset from the ``dimension`` lists of the info JSON (VBench-I2V's
  protocol) and, for i2v_subject / i2v_background, pairs each video with
  ``vbench2_beta_i2v/data/crop/{resolution}/{image_name}`` relative to the working
  directory -- so the job's image folder is linked there in a scratch directory;
* submodules from ``vbench2_beta_i2v.utils.init_submodules`` for VBench-I2V's ten
  dimensions and from ``vbench.utils.init_submodules`` for ``overall_consistency``;
* ``imaging_quality_preprocessing_mode="longer"`` explicitly (VBench's default since
  it became a keyword; older commits had none and raised).

Results are written atomically in VBench's own structure ``{dimension: [aggregate,
per-video]}`` (camera_motion: ``[aggregate, per-type, per-video]``), with the job's
``versions`` file recording vbench, torch and torchvision versions.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import os
import sys
import tempfile
from importlib import metadata
from pathlib import Path

I2V_DIMENSIONS = {"i2v_subject", "i2v_background", "camera_motion"}
DEFAULT_JOBS = Path(__file__).resolve().parents[2] / "results" / "official" / "vbench" / "jobs.json"


def _write_atomic(path: Path, payload: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    with os.fdopen(handle, "w") as out:
        json.dump(payload, out, indent=1, default=float)
    os.replace(tmp, path)


def _versions() -> dict[str, str]:
    out = {}
    for package in ("vbench", "torch", "torchvision", "transformers", "dreamsim", "pyiqa"):
        try:
            out[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            out[package] = "not installed"
    return out


@contextlib.contextmanager
def _vbench_workdir(images: str, resolution: str):
    """A scratch working directory where VBench-I2V finds the job's images as
    ``vbench2_beta_i2v/data/crop/{resolution}/{image_name}``."""
    here = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="vbench-") as scratch:
        crop = Path(scratch) / "vbench2_beta_i2v" / "data" / "crop"
        crop.mkdir(parents=True)
        (crop / resolution).symlink_to(images, target_is_directory=True)
        os.chdir(scratch)
        try:
            yield
        finally:
            os.chdir(here)


def _submodules(dimensions: list[str], resolution: str) -> dict:
    from vbench.utils import init_submodules as init_vbench
    from vbench2_beta_i2v.utils import init_submodules as init_i2v

    i2v_owned = [d for d in dimensions if d != "overall_consistency"]
    modules = dict(init_i2v(i2v_owned, resolution=resolution)) if i2v_owned else {}
    if "overall_consistency" in dimensions:
        modules.update(init_vbench(["overall_consistency"]))
    return modules


def run_job(job: dict, dimensions: list[str], device: str, resolution: str) -> Path:
    """Score one job's info file on ``dimensions`` (those of the job) with VBench's code."""
    import torch

    wanted = [d for d in job["dimensions"] if d in dimensions]
    if not wanted:
        print(f"{job['method']}/{job['dataset']}: no requested dimension applies, skipped")
        return Path(job["results"])
    submodules = _submodules(wanted, resolution)
    results = {}
    with _vbench_workdir(job["images"], resolution):
        for dimension in wanted:
            package = "vbench2_beta_i2v" if dimension in I2V_DIMENSIONS else "vbench"
            compute = getattr(importlib.import_module(f"{package}.{dimension}"), f"compute_{dimension}")
            print(f"{job['method']}/{job['dataset']}: {dimension}", flush=True)
            options = {"imaging_quality_preprocessing_mode": "longer"}
            results[dimension] = compute(job["info"], torch.device(device), submodules[dimension], **options)
    out = Path(job["results"])
    _write_atomic(out, results)
    _write_atomic(Path(job["versions"]), _versions())
    return out


def dump_pairs(job: dict, resolution: str) -> Path:
    """What VBench's own loaders select for each dimension of a job: per dimension the
    videos (``load_dimension_info``) and, for the image dimensions, the (image, video)
    pairs (``load_i2v_dimension_info``) -- no model is loaded. Written next to the
    results as ``<name>_pairs.json`` for ``python -m vcd.official check``."""
    from vbench2_beta_i2v.utils import load_dimension_info, load_i2v_dimension_info

    pairs: dict[str, list] = {}
    with _vbench_workdir(job["images"], resolution):
        for dimension in job["dimensions"]:
            if dimension in ("i2v_subject", "i2v_background"):
                found, _ = load_i2v_dimension_info(job["info"], dimension, "en", resolution)
                # resolved inside the scratch folder: the real file behind the link
                pairs[dimension] = [[str(Path(image).resolve()), video] for image, video in found]
            else:
                videos, _ = load_dimension_info(job["info"], dimension, "en")
                pairs[dimension] = [[None, video] for video in videos]
    out = Path(job["pairs"])
    _write_atomic(out, pairs)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=Path, default=DEFAULT_JOBS)
    parser.add_argument("--dimensions", nargs="+", help="default: every dimension of each job")
    parser.add_argument("--methods", nargs="+", help="default: every job's method")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--pairs", action="store_true", help="only record what VBench's loaders select (no models)")
    parser.add_argument(
        "--resolution",
        default="generated",
        help="name of the crop folder VBench-I2V reads images from (any name: the job's images are linked there)",
    )
    args = parser.parse_args(argv)
    if not args.jobs.is_file():
        print(f"{args.jobs} not found: run `python -m vcd.official prepare` in the project's environment first")
        return 2
    jobs = json.loads(args.jobs.read_text())
    if args.methods:
        jobs = [j for j in jobs if j["method"] in args.methods]
    for job in jobs:
        if args.pairs:
            print(f"wrote {dump_pairs(job, args.resolution)}")
            continue
        dimensions = args.dimensions or job["dimensions"]
        print(f"wrote {run_job(job, dimensions, args.device, args.resolution)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
