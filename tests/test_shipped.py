"""vcd.shipped: the committed toy base model and the record that keeps it honest."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from vcd.layout import Layout
from vcd.preflight import missing_resources
from vcd.settings import Settings
from vcd.shipped import (
    BASE_MODEL_STAGE,
    base_model_frozen,
    read_training_record,
    shipped_model_mismatches,
    stale_shipped_model,
    training_inputs,
)

ROOT = Path(__file__).resolve().parents[1]
REPO = Layout(ROOT)


@pytest.fixture()
def checkout(tmp_path) -> Layout:
    """A copy of the files the record covers, plus params.yaml and dvc.yaml."""
    names = [REPO.relative(p) for p in REPO.toy_training_code] + ["params.yaml", "dvc.yaml"]
    for name in names:
        target = tmp_path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, target)
    return Layout(tmp_path)


def test_a_record_matches_its_own_checkout_and_names_each_change(checkout):
    settings = Settings.load(checkout.params_file)
    recorded = training_inputs(settings, checkout)
    assert shipped_model_mismatches(recorded, training_inputs(settings, checkout)) == []
    (checkout.root / "vcd/toy.py").write_text("# edited\n", encoding="utf-8")
    changed = settings.with_changes(pretrain=type(settings.pretrain)(**{**vars(settings.pretrain), "seed": 7}))
    problems = shipped_model_mismatches(recorded, training_inputs(changed, checkout))
    assert problems == [
        f"params pretrain: trained with {json.dumps(recorded['params']['pretrain'])}, "
        f"now {json.dumps(training_inputs(changed, checkout)['params']['pretrain'])}",
        "code vcd/toy.py changed since the model was trained",
    ]


def test_settings_outside_the_record_do_not_invalidate_the_model(checkout):
    settings = Settings.load(checkout.params_file)
    recorded = training_inputs(settings, checkout)
    other = settings.with_changes(finetune=type(settings.finetune)(**{**vars(settings.finetune), "steps": 99}))
    assert shipped_model_mismatches(recorded, training_inputs(other, checkout)) == []


def test_preflight_stops_a_run_on_a_stale_or_missing_shipped_model(checkout):
    settings = Settings.load(checkout.params_file)
    assert base_model_frozen(checkout)
    problems = [str(m) for m in missing_resources(settings, checkout)]
    assert any("no training record" in p and "make pretrain" in p for p in problems), problems
    checkout.base_model.mkdir(parents=True)
    inputs = training_inputs(settings, checkout)
    inputs["params"]["video.width"] = 999
    checkout.base_model_record.write_text(json.dumps({"inputs": inputs}), encoding="utf-8")
    assert stale_shipped_model(settings, checkout) == [
        f"params video.width: trained with 999, now {settings.video.width}"
    ]
    # an unfrozen stage retrains: nothing to check
    dvc = yaml.safe_load(checkout.dvc_file.read_text(encoding="utf-8"))
    dvc["stages"][BASE_MODEL_STAGE].pop("frozen")
    checkout.dvc_file.write_text(yaml.safe_dump(dvc), encoding="utf-8")
    assert stale_shipped_model(settings, checkout) == []


# ------------------------------------------------------------------ the model in this repository
def test_the_shipped_model_was_trained_from_this_checkouts_code_and_params():
    """The committed models/base must be what `make pretrain` would train from this
    checkout: if this fails, retrain (`make pretrain`) or restore what changed."""
    settings = Settings.load(REPO.params_file)
    assert base_model_frozen(REPO), "dvc.yaml's base_model stage must be frozen (the shipped model is reused)"
    record = read_training_record(REPO.base_model_record)
    assert shipped_model_mismatches(record["inputs"], training_inputs(settings, REPO)) == []
    assert record["videos"] == settings.pretrain.sources.photo_views + settings.pretrain.sources.procedural


def test_the_shipped_weights_are_safetensors_only():
    from safetensors.torch import load_file

    files = [p for p in REPO.base_model.rglob("*") if p.is_file()]
    weights = [p for p in files if p.suffix in {".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".pkl"}]
    assert weights and all(p.suffix == ".safetensors" for p in weights), weights
    for path in weights:
        assert load_file(path), f"{path} holds no tensors"
