"""Reruns of the whole study with another *study seed*, and whether its verdicts survive.

A claim tested once can be a draw of luck even with the run as the unit of replication
(:mod:`vcd.mixed_effects`): three run seeds and a handful of evaluation items are a
small sample of the study's randomness. So the study issue calls a claim *reproduced*
only where a second, independent study reaches the same run-level verdict.

Study seed ``k`` shifts every seed the study draws -- the fine-tuning run seeds
(``finetune.run_seeds``: LoRA initialisation, sampling noise, frames, data order) and
the sampling seeds of every evaluation video (``evaluation.seeds``,
``replicate_seeds``, ``vcd_seeds``) -- by ``k * SEED_STRIDE``. Everything else stays:
the shipped base model, the data split, the metric and its random projections
(``vcd.seed`` is part of the instrument, not of the study), every other setting.

:func:`rerun_study` runs it the way a user would: a fresh clone of the checkout's
commit, ``make setup``, the seed overlay merged into its ``params.yaml``, ``make repro``;
then the rerun's claims, metrics and provenance are copied into
``data/study_reruns/study-seed-<k>/`` with a ``record.json`` (commit, settings digest,
seconds, machine). The report stage reads every rerun there
(:func:`attach_rerun_verdicts`): each claim carries the rerun's verdict beside its own,
and a rerun made with other code or settings is reported as stale, never compared
silently. ::

    make study-rerun STUDY_SEED=1        # about as long as `make repro`
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .config import apply_overlay
from .files import write_json
from .layout import Layout, RerunFiles
from .provenance import code_version, params_digest
from .settings import Settings

__all__ = [
    "SEED_STRIDE",
    "study_seed_overlay",
    "kept_files",
    "rerun_study",
    "load_reruns",
    "attach_rerun_verdicts",
]

#: Study seed k adds k * SEED_STRIDE to every seed of the study (disjoint from the defaults).
SEED_STRIDE = 1000


def kept_files(clone: Layout, rerun: RerunFiles) -> list[tuple[Path, Path]]:
    """What a rerun keeps: (file of the clone, its place in the rerun folder) -- the
    claims, the report's metrics and provenance, and the per-method summary."""
    return [
        (clone.claims, rerun.claims),
        (clone.report.metrics, rerun.metrics),
        (clone.report.provenance, rerun.provenance),
        (clone.summary, rerun.summary),
    ]


def study_seed_overlay(settings: Settings, study_seed: int) -> dict[str, Any]:
    """The ``params.yaml`` overlay of study seed ``study_seed`` (>= 1) over ``settings``."""
    if int(study_seed) < 1:
        raise ValueError(f"a rerun's study seed must be >= 1 (0 is the committed study); got {study_seed}")
    shift = int(study_seed) * SEED_STRIDE

    def moved(seeds: Sequence[int] | None) -> list[int] | None:
        return None if seeds is None else [int(s) + shift for s in seeds]

    ev = settings.evaluation
    return {
        "finetune": {"run_seeds": moved(settings.finetune.run_seeds)},
        "evaluation": {
            "seeds": moved(ev.seeds),
            "replicate_seeds": moved(ev.replicate_seeds),
            "vcd_seeds": moved(ev.vcd_seeds),
            "tradeoff": {"seeds": moved(ev.tradeoff.seeds)},
        },
    }


def _machine() -> dict[str, Any]:
    return {"platform": platform.platform(), "processor": platform.processor(), "cpus": os.cpu_count()}


def _run(command: Sequence[str], cwd: Path, log: Path) -> None:
    """Run ``command`` in ``cwd``, its output appended to ``log`` and echoed (the
    stages' progress bars); a failure names the log."""
    with log.open("a", encoding="utf-8") as handle:
        handle.write(f"$ {' '.join(command)}\n")
        handle.flush()
        process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert process.stdout is not None
        for line in process.stdout:
            handle.write(line)
            sys.stdout.write(line)
        if process.wait() != 0:
            raise RuntimeError(f"`{' '.join(command)}` failed in {cwd} (exit {process.returncode}); see {log}")


def rerun_study(layout: Layout, settings: Settings, study_seed: int, workdir: Path | None = None) -> Path:
    """Rerun the study with ``study_seed`` in a fresh clone of the checkout's commit and
    keep its results in the layout's ``study_rerun(study_seed)``; returns that folder.

    Refuses, before anything is cloned, a checkout whose sources differ from its commit
    (the clone would run other code than the results say) and an existing rerun of the
    same seed (move it away first: nothing is overwritten).
    """
    overlay = study_seed_overlay(settings, study_seed)
    target = layout.study_rerun(study_seed).dir
    if target.exists():
        raise FileExistsError(f"{layout.relative(target)} exists; move it away to rerun study seed {study_seed}")
    code = code_version(layout.root)
    if code.get("dirty") is not False:
        raise RuntimeError(
            f"the checkout's sources differ from its commit ({code.get('dirty_files') or code}); commit them first: "
            "the rerun clones the commit"
        )
    work = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix=f"vcd-study-seed-{study_seed}-"))
    if work.exists() and any(work.iterdir()):
        raise FileExistsError(f"{work} is not empty")
    log = Path(tempfile.gettempdir()) / f"vcd-study-seed-{study_seed}.log"
    start = time.perf_counter()
    _run(["git", "clone", "--quiet", "--no-local", str(layout.root), str(work)], layout.root, log)
    clone = Layout(work)
    changed = apply_overlay(clone.params_file, overlay)
    Settings.load(clone.params_file)  # the shifted seeds are valid settings before any stage runs
    _run(["make", "repro"], work, log)
    seconds = time.perf_counter() - start
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = RerunFiles(Path(tempfile.mkdtemp(prefix=".rerun-", dir=target.parent)))  # same file system
    for source, kept in kept_files(clone, staging):
        shutil.copy2(source, kept)
    write_json(
        staging.record,
        {
            "study_seed": int(study_seed),
            "seed_stride": SEED_STRIDE,
            "overlay": overlay,
            "changed": changed,
            "commit": code["commit"],
            # the study's settings before the seed shift: what the committed study must match
            "params_sha256": params_digest(settings.as_dict()),
            "seconds": seconds,
            "machine": _machine(),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        },
    )
    staging.dir.rename(target)  # all files appear at once
    shutil.rmtree(work, ignore_errors=True)
    return target


def load_reruns(layout: Layout) -> dict[str, dict[str, Any]]:
    """Every rerun in the layout's ``study_reruns_dir``: label -> its record and claims."""
    return {
        rerun.label: {
            "record": json.loads(rerun.record.read_text(encoding="utf-8")),
            "claims": json.loads(rerun.claims.read_text(encoding="utf-8")),
        }
        for rerun in layout.study_reruns()
    }


def _same_code(root: Path, commit: str) -> bool:
    """Whether ``commit``'s sources equal the checkout's (the rerun ran this code); the
    reruns' own folder is an input of the report alone, so committing a rerun does not
    make it, or an earlier one, stale."""
    layout = Layout(root)
    reruns = f":(exclude){layout.relative(layout.study_reruns_dir)}"
    try:
        subprocess.run(
            ["git", "diff", "--quiet", commit, "--", *layout.source_paths, reruns],
            cwd=root,
            check=True,
            capture_output=True,
        )
    except (subprocess.CalledProcessError, FileNotFoundError):
        return False
    return True


def attach_rerun_verdicts(
    claims: Sequence[dict[str, Any]], reruns: Mapping[str, Mapping[str, Any]], settings: Settings, root: Path
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Each claim with every rerun's run-level verdict beside its own.

    Adds to each claim ``reruns`` (label -> the rerun's ``reproduced``, ``tested``,
    ``effect``, ``p_holm``) and ``reproduced_in_every_study``: reproduced here *and* in
    every current rerun (None without one). A rerun whose settings (before its seed
    shift) or code differ from this study's is *stale*: it is listed in the returned
    status, with the reason, and not compared. Returns (claims, status per rerun).
    """
    digest = params_digest(settings.as_dict())
    status, current = {}, {}
    for label, rerun in reruns.items():
        record = rerun["record"]
        reasons = []
        if record.get("params_sha256") != digest:
            reasons.append("other settings")
        if not _same_code(Path(root), record.get("commit", "")):
            reasons.append(f"other code (commit {record.get('commit', '?')[:10]})")
        status[label] = {
            "study_seed": record.get("study_seed"),
            "commit": record.get("commit"),
            "seconds": record.get("seconds"),
            "machine": record.get("machine"),
            "stale": ", ".join(reasons) or None,
        }
        if not reasons:
            current[label] = {c["id"]: c for c in rerun["claims"]}
    out = []
    for claim in claims:
        verdicts = {}
        for label, by_id in current.items():
            other = by_id.get(claim["id"], {})
            verdicts[label] = {k: other.get(k) for k in ("reproduced", "tested", "effect", "p_holm")}
        everywhere = None
        if verdicts:
            everywhere = bool(claim["tested"] and claim["reproduced"]) and all(
                v["tested"] and v["reproduced"] for v in verdicts.values()
            )
        same = None if not verdicts else all(v["reproduced"] == claim["reproduced"] for v in verdicts.values())
        out.append(
            {**claim, "reruns": verdicts, "same_verdict_in_reruns": same, "reproduced_in_every_study": everywhere}
        )
    return out, status


def _main(argv: Sequence[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m vcd.study", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    rerun = sub.add_parser("rerun", help="rerun the study with another study seed in a fresh clone")
    rerun.add_argument("--study-seed", type=int, required=True)
    rerun.add_argument("--workdir", type=Path, help="the clone's folder (default: a new temporary one)")
    overlay = sub.add_parser("overlay", help="print a study seed's params.yaml overlay")
    overlay.add_argument("--study-seed", type=int, required=True)
    args = parser.parse_args(argv)
    layout = Layout.discover()
    settings = Settings.load(layout.params_file)
    if args.command == "overlay":
        print(json.dumps(study_seed_overlay(settings, args.study_seed), indent=2))
        return 0
    target = rerun_study(layout, settings, args.study_seed, args.workdir)
    print(f"study seed {args.study_seed}: {layout.relative(target)} (run `dvc repro report` to compare)")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
