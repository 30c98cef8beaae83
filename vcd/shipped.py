"""The shipped toy base model: what it was trained from, and whether that still holds.

Pre-training the toy base model takes tens of minutes, so the repository ships the
trained model (``models/base``, committed to git as outputs of the frozen
``base_model`` stage of ``dvc.yaml``) and ``dvc repro`` reuses it; ``make pretrain``
retrains it. Freezing makes DVC skip the stage whatever changes, so this module keeps
the model honest instead: at training time :func:`training_inputs` records the
settings and code the weights depend on (``models/base/training.json``), and
:func:`shipped_model_mismatches` lists every difference between that record and the
current checkout -- checked before any stage runs (:mod:`vcd.preflight`) and by the
test suite, so a change to the training code or settings cannot silently leave a stale
model in place.

Only what determines the weights is compared: the ``pretrain`` section, the toy
architecture, the video shape, the scheduler shift and text length, the data split's
settings, and the source of the training modules and of the embedded manifest
(``Layout.toy_training_code``).
Editing the settings parser or the path layout does not invalidate the weights.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .layout import Layout
from .settings import Settings

__all__ = [
    "TRAINING_PARAMS",
    "training_inputs",
    "shipped_model_mismatches",
    "read_training_record",
    "stale_shipped_model",
    "base_model_frozen",
    "BASE_MODEL_STAGE",
]

#: the dotted params.yaml keys the toy's weights depend on
TRAINING_PARAMS = (
    "pretrain",
    "model.toy",
    "model.flow_shift",
    "model.max_sequence_length",
    "video.width",
    "video.height",
    "video.num_frames",
    "data.split_seed",
    "data.min_side",
    "data.embedded",
)


def _lookup(params: Mapping[str, Any], dotted: str) -> Any:
    value: Any = params
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _digest(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


def training_inputs(settings: Settings, layout: Layout) -> dict[str, Any]:
    """What the toy's weights are a function of: the :data:`TRAINING_PARAMS` values and
    the SHA-256 of each file of ``layout.toy_training_code`` (the embedded manifest among them:
    with ``data.split_seed`` it fixes which photographs are trained on)."""
    params = settings.as_dict()
    code = {}
    for path in layout.toy_training_code:
        code[layout.relative(path)] = _digest(path.read_bytes()) if path.is_file() else "missing"
    return {"params": {key: _lookup(params, key) for key in TRAINING_PARAMS}, "code_sha256": code}


def shipped_model_mismatches(recorded: Mapping[str, Any], current: Mapping[str, Any]) -> list[str]:
    """Human-readable differences between the :func:`training_inputs` a model was trained
    with (``recorded``, from ``models/base/training.json``) and the current ones; empty
    when the shipped model is what the checkout would train."""
    problems = []
    for key in TRAINING_PARAMS:
        was, now = recorded.get("params", {}).get(key), current["params"][key]
        if json.dumps(was, sort_keys=True) != json.dumps(now, sort_keys=True):
            problems.append(f"params {key}: trained with {json.dumps(was)}, now {json.dumps(now)}")
    for name, digest in current["code_sha256"].items():
        if recorded.get("code_sha256", {}).get(name) != digest:
            problems.append(f"code {name} changed since the model was trained")
    return problems


def read_training_record(path: str | Path) -> dict[str, Any]:
    """The training record (``training.json``) of a trained base model folder."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no training record at {path}: retrain the toy base model with `make pretrain`")
    return json.loads(path.read_text(encoding="utf-8"))


#: the dvc.yaml stage that trains (toy) or references (hub) the base model
BASE_MODEL_STAGE = "base_model"


def base_model_frozen(layout: Layout) -> bool:
    """Whether dvc.yaml's :data:`BASE_MODEL_STAGE` is frozen (the shipped model is reused)."""
    import yaml

    stages = yaml.safe_load(layout.dvc_file.read_text(encoding="utf-8")).get("stages", {})
    return bool(stages.get(BASE_MODEL_STAGE, {}).get("frozen", False))


def stale_shipped_model(settings: Settings, layout: Layout) -> list[str]:
    """Why the shipped toy model cannot be used with these settings (empty: it can):
    missing, or trained from other settings or code (:func:`shipped_model_mismatches`).
    Hub models are not shipped, and an unfrozen stage retrains: empty for both."""
    if not settings.model.is_toy or not base_model_frozen(layout):
        return []
    try:
        recorded = read_training_record(layout.base_model_record)
    except FileNotFoundError as error:
        return [str(error)]
    return shipped_model_mismatches(recorded.get("inputs", {}), training_inputs(settings, layout))
