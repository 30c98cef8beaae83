"""Reward fine-tuning: outputs, resume equivalence, and clear errors before compute."""

from __future__ import annotations

import json
import os
import shutil

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file, save_file

from tiny import settings_of
from vcd.layout import Layout
from vcd.runs import read_run_info, require_complete_run
from vcd.settings import SettingsError
from vcd.training import FinetuneInterrupted, run_finetune, validate_finetune


def test_a_run_writes_lora_only_weights_logs_and_info(tiny_settings, tiny_layout, tiny_items):
    run = tiny_layout.run("vcd", "embedded")
    info = run_finetune(tiny_settings, tiny_layout, "vcd", run, tiny_items, progress=False)
    assert info["status"] == "complete" and require_complete_run(run)["reward"] == "vcd"
    weights = load_file(str(run.lora))
    assert weights and all(".lora_A." in k or ".lora_B." in k for k in weights)
    assert any(v.abs().sum() > 0 for k, v in weights.items() if "lora_B" in k)  # training moved the adapters
    log = pd.read_csv(run.train_log)
    assert list(log.step) == [1, 2, 3, 4]
    assert {"step", "loss", "seconds", "peak_mem_mb", "reward", "grad_norm"} <= set(log.columns)
    assert log.seconds.is_monotonic_increasing and (log.peak_mem_mb > 0).all()
    assert (log.loss >= 0).all()
    val = pd.read_csv(run.val_log)
    assert list(val.step) == [0, 2, 4]
    assert info["provenance"]["weights"]["reward"]["vcd_num_projections"] == "4"
    assert json.loads(run.lora_config.read_text())["rank"] == 2
    metrics = json.loads(run.metrics.read_text())  # only comparable numbers: no provenance in the metrics file
    assert set(metrics) == {
        "loss_first_quarter",
        "loss_last_quarter",
        "seconds_per_step",
        "peak_mem_mb",
        "val_vcd_first",
        "val_vcd_last",
    }
    assert all(isinstance(v, float) for v in metrics.values())
    # the trade-off snapshots (finetune.snapshots 1/4, 1/2 of 4 steps): the LoRA as it was after steps 1 and 2
    assert tiny_settings.finetune.snapshot_steps == (1, 2) and info["snapshot_steps"] == [1, 2]
    at_2 = torch.load(run.checkpoint_state(2), weights_only=True)["lora"]
    snapshot = load_file(str(run.snapshot(2).lora))
    assert snapshot.keys() == weights.keys() and all(torch.equal(snapshot[k], at_2[k].float()) for k in snapshot)
    assert any(not torch.equal(snapshot[k], weights[k]) for k in weights)  # two more steps moved it
    assert json.loads(run.snapshot(1).lora_config.read_text()) == json.loads(run.lora_config.read_text())


def test_a_killed_run_resumes_to_the_same_weights(tiny_settings, tiny_layout, tiny_items):
    full, killed = tiny_layout.run("full", "embedded"), tiny_layout.run("killed", "embedded")
    summary = run_finetune(tiny_settings, tiny_layout, "vcd", full, tiny_items, progress=False)
    with pytest.raises(FinetuneInterrupted):
        run_finetune(tiny_settings, tiny_layout, "vcd", killed, tiny_items, progress=False, stop_after_steps=3)
    assert read_run_info(killed)["status"] == "running"  # not taken as finished
    with pytest.raises(FileNotFoundError, match="not a finished fine-tuning run"):
        require_complete_run(killed)
    assert not killed.lora.exists()
    resumed = run_finetune(tiny_settings, tiny_layout, "vcd", killed, tiny_items, progress=False)
    assert resumed["resumed_from_step"] == 2  # the last checkpoint before the interruption
    a, b = load_file(str(full.lora)), load_file(str(killed.lora))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    pd.testing.assert_series_equal(pd.read_csv(full.train_log).loss, pd.read_csv(killed.train_log).loss)
    assert summary["loss_last_quarter"] == resumed["loss_last_quarter"]
    for step in (1, 2):  # snapshots taken before the interruption come back from the checkpoint
        a, b = load_file(str(full.snapshot(step).lora)), load_file(str(killed.snapshot(step).lora))
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_gradient_checkpointing_trades_memory_not_numerics(tiny_params, tiny_layout, tiny_items):
    """Checkpointing recomputes activations to save memory; the losses must not change."""
    logs = {}
    for flag in (True, False):
        run = tiny_layout.run(str(flag), "embedded")
        run_finetune(
            settings_of(tiny_params, **{"finetune.gradient_checkpointing": flag}),
            tiny_layout,
            "vcd",
            run,
            tiny_items,
            progress=False,
        )
        logs[flag] = pd.read_csv(run.train_log)
    pd.testing.assert_series_equal(logs[True].loss, logs[False].loss)


def test_changed_settings_start_afresh(tiny_params, tiny_settings, tiny_layout, tiny_items):
    run = tiny_layout.run("run", "embedded")
    with pytest.raises(FinetuneInterrupted):
        run_finetune(tiny_settings, tiny_layout, "vcd", run, tiny_items, progress=False, stop_after_steps=3)
    info = run_finetune(
        settings_of(tiny_params, **{"finetune.lr": 5e-3}), tiny_layout, "vcd", run, tiny_items, progress=False
    )
    assert info["resumed_from_step"] == 0


def test_a_retrained_base_model_or_new_split_starts_afresh(tiny_settings, tiny_layout, tiny_items, tmp_path):
    """Same settings, different base weights or training items: never resume stale adapters."""
    run = tiny_layout.run("run", "embedded")
    with pytest.raises(FinetuneInterrupted):
        run_finetune(tiny_settings, tiny_layout, "vcd", run, tiny_items, progress=False, stop_after_steps=3)
    retrained = Layout(tmp_path / "retrained")
    shutil.copytree(tiny_layout.base_model, retrained.base_model)
    weights = next(retrained.base_model.glob("transformer/*.safetensors"))
    state = load_file(str(weights))
    key = next(iter(state))
    state[key] = state[key] + 0.01
    save_file(state, str(weights))
    with pytest.raises(FinetuneInterrupted):
        run_finetune(tiny_settings, retrained, "vcd", run, tiny_items, progress=False, stop_after_steps=3)
    assert read_run_info(run)["resumed_from_step"] == 0
    fewer = run_finetune(tiny_settings, retrained, "vcd", run, tiny_items[1:], progress=False)
    assert fewer["resumed_from_step"] == 0


@pytest.mark.parametrize(
    "change, match",
    [
        ({"finetune.backprop_steps": 9}, r"backprop_steps \(K\) must be between 1 and"),
        ({"finetune.steps": 0}, "steps must be >= 1"),
        ({"finetune.grad_clip": 0}, "grad_clip must be > 0"),
        ({"finetune.lr": "1e-2"}, "finetune.lr must be a number; got '1e-2'"),
        ({"finetune.lora.target_modules": []}, "target_modules is empty"),
    ],
)
def test_bad_settings_fail_before_any_work(tiny_params, change, match):
    with pytest.raises(SettingsError, match=match):
        settings_of(tiny_params, **change)


@pytest.mark.parametrize(
    "reward, change, error, match",
    [
        ("vcd_best", {}, ValueError, "unknown reward 'vcd_best'"),
        ("vcd", {"finetune.lora.target_modules": ["qkv_fused"]}, ValueError, "match no linear layer"),
        ("vcd", {"model.name": "wan2.1-fun-1.3b-inp"}, FileNotFoundError, "not in the local Hugging Face cache"),
    ],
)
def test_bad_input_fails_before_compute_without_a_run_folder(
    tiny_params, tiny_layout, tiny_items, reward, change, error, match
):
    run = tiny_layout.run("x", "embedded")
    with pytest.raises(error, match=match):
        run_finetune(settings_of(tiny_params, **change), tiny_layout, reward, run, tiny_items, progress=False)
    assert not run.dir.exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output_folder(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    with pytest.raises(PermissionError, match="cannot write the run folder"):
        validate_finetune("vcd", Layout(locked).run("run", "embedded"))


def test_unwritable_output_folder_is_detected(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(PermissionError, match="cannot write the run folder"):
        validate_finetune("vcd", Layout(blocker).run("run", "embedded"))


def test_a_finished_run_is_never_replaced_unless_asked(tiny_params, tiny_settings, tiny_layout, tiny_items):
    """A run of other settings that then fails must not have destroyed the finished run."""
    from vcd.training import RunExistsError

    run = tiny_layout.run("vcd", "embedded")
    run_finetune(tiny_settings, tiny_layout, "vcd", run, tiny_items, progress=False)
    weights = run.lora.read_bytes()
    other = settings_of(tiny_params, **{"finetune.lr": 5e-3})
    with pytest.raises(RunExistsError, match="holds a finished run of other settings"):
        run_finetune(other, tiny_layout, "vcd", run, tiny_items, progress=False, stop_after_steps=1)
    assert require_complete_run(run)["status"] == "complete" and run.lora.read_bytes() == weights
    again = run_finetune(
        tiny_settings, tiny_layout, "vcd", run, tiny_items, progress=False
    )  # same settings: its own run
    assert again["resumed_from_step"] == 4 and run.lora.read_bytes() == weights
    with pytest.raises(FinetuneInterrupted):  # asked to replace it: it is
        run_finetune(other, tiny_layout, "vcd", run, tiny_items, progress=False, stop_after_steps=3, overwrite=True)
    assert read_run_info(run)["status"] == "running"


def test_a_checkpoint_cut_short_falls_back_and_checkpoints_load_without_pickle(
    tiny_params, tiny_layout, tiny_items, monkeypatch
):
    settings = settings_of(tiny_params, **{"finetune.checkpoint_every": 1})  # keeps the last 2
    run = tiny_layout.run("vcd", "embedded")
    with pytest.raises(FinetuneInterrupted):
        run_finetune(settings, tiny_layout, "vcd", run, tiny_items, progress=False, stop_after_steps=3)
    newest, older = run.checkpoint_states()
    assert (newest.parent.name, older.parent.name) == ("step-000003", "step-000002")
    newest.write_bytes(newest.read_bytes()[:100])  # cut short (a bad disk, a copy killed half-way)
    loads = []
    real_load = torch.load
    monkeypatch.setattr(torch, "load", lambda *a, **k: loads.append(k.get("weights_only")) or real_load(*a, **k))
    info = run_finetune(settings, tiny_layout, "vcd", run, tiny_items, progress=False)
    assert info["resumed_from_step"] == 2 and info["status"] == "complete"  # the checkpoint before the damaged one
    assert loads and all(loads)  # tensors, numbers and strings only: never unpickled code
    for state in run.checkpoint_states():
        state.write_bytes(b"")
    assert run_finetune(settings, tiny_layout, "vcd", run, tiny_items, progress=False)["resumed_from_step"] == 0


def test_every_run_seed_trains_its_own_run_and_the_first_is_the_plain_run(tiny_params, tiny_layout, tiny_items):
    """The study's replicate runs: one per finetune.run_seeds, each in its own folders;
    the first seed's run is exactly what a single run_finetune trains."""
    from vcd.training import run_finetunes

    settings = settings_of(tiny_params, **{"finetune.run_seeds": [3, 5], "finetune.steps": 2})
    single = tiny_layout.run("single", "embedded")
    run_finetune(settings, tiny_layout, "vcd", single, tiny_items, progress=False)
    infos = run_finetunes(settings, tiny_layout, "vcd", "embedded", tiny_items, progress=False)
    first, replicate = tiny_layout.run("vcd", "embedded"), tiny_layout.run("vcd@5", "embedded")
    assert [i["run_seed"] for i in infos] == [3, 5] and infos[1]["status"] == "complete"
    assert replicate.dir == first.dir / "replicates" / "seed-5" and replicate.lora.is_file()
    assert replicate.checkpoints == first.checkpoints / "replicates" / "seed-5"
    a, b, c = (load_file(str(r.lora)) for r in (single, first, replicate))
    assert all(torch.equal(a[k], b[k]) for k in a)  # seed 3 is seed 3, in a loop or alone
    assert any(not torch.equal(b[k], c[k]) for k in b)  # another seed is another run
    listed = json.loads(tiny_layout.reward_runs("vcd", "embedded").read_text())["runs"]
    assert [(r["method"], r["run_seed"]) for r in listed] == [("vcd", 3), ("vcd@5", 5)]
    # the first run's checkpoints are its own: the replicate's folder is not one of them
    assert first.checkpoint_folders() and all(p.name.startswith("step-") for p in first.checkpoint_folders())
    with pytest.raises(ValueError, match="run seed 4 is not one of finetune.run_seeds"):
        run_finetune(settings, tiny_layout, "vcd", first, tiny_items, progress=False, run_seed=4)


def test_adding_a_run_seed_keeps_the_finished_runs(tiny_params, tiny_layout, tiny_items):
    """A run's resume digest holds its own seed, not the list: a study grown by one seed
    resumes every finished run instead of retraining it."""
    from vcd.training import run_finetunes

    two = settings_of(tiny_params, **{"finetune.run_seeds": [0, 1], "finetune.steps": 2})
    three = settings_of(tiny_params, **{"finetune.run_seeds": [0, 1, 2], "finetune.steps": 2})
    run_finetunes(two, tiny_layout, "vcd", "embedded", tiny_items, progress=False)
    infos = run_finetunes(three, tiny_layout, "vcd", "embedded", tiny_items, progress=False)
    assert [i["resumed_from_step"] for i in infos] == [2, 2, 0]


def test_a_checkpoint_is_resumed_only_by_the_code_that_wrote_it(tiny_params, tiny_items, tmp_path):
    """The resume digest covers the training code: a code change retrains rather than
    keeping (or resuming) steps the new code never took under the new code's provenance."""
    from vcd.training import FINETUNE_CODE, _code_files, _finetune_digest

    settings = settings_of(tiny_params)
    base = {"source": "x", "sha256": "y"}
    files = _code_files()
    assert [f.stem for f in files] == list(FINETUNE_CODE) and all(f.is_file() for f in files)
    same = _finetune_digest(settings, "vcd", 0, base, tiny_items, files)
    assert same == _finetune_digest(settings, "vcd", 0, base, tiny_items, _code_files())
    edited = tmp_path / files[0].name
    edited.write_bytes(files[0].read_bytes() + b"\n# an edit\n")
    assert _finetune_digest(settings, "vcd", 0, base, tiny_items, [edited, *files[1:]]) != same
