"""The design of the human evaluation study (Sec. 4.2, App. C.1, Fig. 10).

The paper shows raters the conditioning image (left), two generated videos side by side
and the prompt, and asks which video is better, or a tie, on Temporal Consistency,
Video-Text Alignment and Motion Naturalness. It selects 30 videos per dataset per model
and compares three pairs of models (base vs +V-JEPA, base vs +VCD, +V-JEPA vs +VCD),
with "their left/right order ... randomized across trials to control for potential side
bias".

:func:`build_study` turns the evaluation videos into such a design:

* per dataset, ``videos_per_dataset`` (image, prompt, seed) keys drawn with the study
  seed among the keys every compared method generated successfully; the *same* keys
  serve every pair, so each trial compares two methods on the same input and seed;
* one trial per (dataset, pair, key), each video and the conditioning image pinned by
  its SHA-256 (the app refuses to serve a file that changed since the design);
* per rater, :func:`rater_plan`: an own trial order and an own left/right assignment,
  both drawn from ``(seed, rater)`` so that any rater's plan can be recomputed.

The manifest is plain JSON (:func:`write_study`); :mod:`vcd.rating_app` serves it and
:mod:`vcd.human_analysis` undoes the randomisation.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .files import write_json
from .layout import Layout
from .settings import HUMAN_CRITERIA, Settings

__all__ = [
    "StudyError",
    "PlannedTrial",
    "build_study",
    "rater_plan",
    "write_study",
    "read_study",
    "trial_index",
    "study_methods",
    "file_sha256",
]

#: the format of the manifest; the app refuses another
MANIFEST_VERSION = 1


class StudyError(ValueError):
    """A study cannot be designed or served as asked (missing videos, changed files)."""


@dataclass(frozen=True)
class PlannedTrial:
    """One trial as one rater sees it: which method plays on the left (video "A")."""

    position: int  # 0-based place in this rater's order
    trial: str  # the study's trial id
    left: str
    right: str


def file_sha256(path: str | Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _ok_keys(layout: Layout, method: str, dataset: str) -> dict[tuple[str, str, int], Path]:
    """(image id, prompt, seed) -> video file of every successfully generated video."""
    import pandas as pd

    table = layout.method_results(method).per_video
    if not table.is_file():
        raise StudyError(
            f"no evaluation results for method {method!r} ({layout.relative(table)}): run `dvc repro evaluate` "
            "before designing the human study"
        )
    rows = pd.read_csv(table)
    rows = rows[(rows.dataset == dataset) & (rows.status == "ok")]
    keys = {}
    for image_id, prompt, seed, file in zip(rows.image_id, rows.prompt, rows.seed, rows.file):
        path = layout.resolve(file)
        if path.is_file():
            keys[(str(image_id), str(prompt), int(seed))] = path
    return keys


def build_study(settings: Settings, layout: Layout) -> dict[str, Any]:
    """The study manifest for ``settings.human_study`` over the evaluation videos of
    ``settings.evaluation.datasets`` (see the module docstring).

    Raises :class:`StudyError` before hashing anything when a compared method has no
    evaluation results; a dataset with fewer common keys than asked gives all it has
    and says so under ``selection`` (nothing is dropped silently)."""
    config = settings.human_study
    methods = list(dict.fromkeys(m for pair in config.pairs for m in pair))
    trials, selection = [], {}
    for dataset in settings.evaluation.datasets:
        per_method = {m: _ok_keys(layout, m, dataset) for m in methods}
        common = sorted(set.intersection(*(set(keys) for keys in per_method.values())))
        rng = np.random.default_rng([config.seed, len(selection)])
        count = min(config.videos_per_dataset, len(common))
        chosen = sorted(common[i] for i in rng.choice(len(common), size=count, replace=False)) if count else []
        selection[dataset] = {"requested": config.videos_per_dataset, "available": len(common), "selected": count}
        for pair in config.pairs:
            first, second = pair
            for image_id, prompt, seed in chosen:
                condition = layout.conditioning_image(first, dataset, prompt)
                if not condition.is_file():
                    raise StudyError(f"the conditioning image of {prompt!r} is missing: {layout.relative(condition)}")
                trials.append(
                    {
                        "id": f"t{len(trials) + 1:04d}",
                        "dataset": dataset,
                        "image_id": image_id,
                        "prompt": prompt,
                        "seed": seed,
                        "pair": [first, second],
                        "condition": _pinned(layout, condition),
                        "videos": {m: _pinned(layout, per_method[m][(image_id, prompt, seed)]) for m in pair},
                    }
                )
    if not trials:
        raise StudyError(f"no video is common to the methods {methods} in {list(settings.evaluation.datasets)}")
    design = {
        "version": MANIFEST_VERSION,
        "seed": config.seed,
        "criteria": {c: HUMAN_CRITERIA[c] for c in config.criteria},
        "pairs": [list(p) for p in config.pairs],
        "selection": selection,
        "trials": trials,
    }
    digest = hashlib.sha256(json.dumps(design, sort_keys=True).encode()).hexdigest()[:10]
    design["study"] = f"{'-'.join(settings.evaluation.datasets)}-{digest}"
    design["raters"] = {str(r): [[p.trial, p.left] for p in rater_plan(design, r)] for r in range(1, config.raters + 1)}
    return design


def _pinned(layout: Layout, path: Path) -> dict[str, str]:
    return {"path": layout.relative(path), "sha256": file_sha256(path)}


def rater_plan(study: Mapping[str, Any], rater: int) -> list[PlannedTrial]:
    """Rater ``rater``'s (1, 2, ...) trials in their order, each with its left method.

    Drawn from ``(study seed, rater)`` alone: the same rater always gets the same plan,
    and any number of raters can be added without changing the others'. Each trial's
    left method is a fair coin; the order a uniform permutation (App. C.1)."""
    if int(rater) < 1:
        raise StudyError(f"raters are numbered from 1; got {rater}")
    trials = study["trials"]
    rng = np.random.default_rng([int(study["seed"]), 7919, int(rater)])
    order = rng.permutation(len(trials))
    flips = rng.random(len(trials)) < 0.5
    plan = []
    for position, index in enumerate(order):
        first, second = trials[index]["pair"]
        left, right = (second, first) if flips[index] else (first, second)
        plan.append(PlannedTrial(position, trials[index]["id"], left, right))
    return plan


def write_study(layout: Layout, study: Mapping[str, Any]) -> Path:
    """Write the manifest atomically to ``layout.study_manifest``."""
    return write_json(layout.study_manifest, study)


def read_study(path: str | Path) -> dict[str, Any]:
    """A manifest written by :func:`write_study`, checked for its format version."""
    path = Path(path)
    if not path.is_file():
        raise StudyError(f"no study manifest at {path}: run `dvc repro human_study` (notebook 07) first")
    study = json.loads(path.read_text(encoding="utf-8"))
    if study.get("version") != MANIFEST_VERSION:
        raise StudyError(f"{path} is a study manifest of format {study.get('version')!r}, not {MANIFEST_VERSION}")
    return study


def trial_index(study: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    """Trial id -> trial."""
    return {t["id"]: t for t in study["trials"]}


def study_methods(study: Mapping[str, Any]) -> Sequence[str]:
    return list(dict.fromkeys(m for pair in study["pairs"] for m in pair))
