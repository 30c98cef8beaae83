"""Reward fine-tuning: outputs, resume equivalence, and clear errors before compute."""

from __future__ import annotations

import copy
import json
import os

import pandas as pd
import pytest
import torch
from safetensors.torch import load_file

from vcd.training import FinetuneInterrupted, read_run_info, require_complete_run, run_finetune, validate_finetune


def test_a_run_writes_lora_only_weights_logs_and_info(tiny_params, tiny_items, tmp_path):
    info = run_finetune(tiny_params, "vcd", tmp_path / "runs" / "vcd", tiny_items, progress=False)
    run = tmp_path / "runs" / "vcd"
    assert info["status"] == "complete" and require_complete_run(run)["reward"] == "vcd"
    weights = load_file(str(run / "lora.safetensors"))
    assert weights and all(".lora_A." in k or ".lora_B." in k for k in weights)
    assert any(v.abs().sum() > 0 for k, v in weights.items() if "lora_B" in k)  # training moved the adapters
    log = pd.read_csv(run / "train_log.csv")
    assert list(log.step) == [1, 2, 3, 4]
    assert {"step", "loss", "seconds", "peak_mem_mb", "reward", "grad_norm"} <= set(log.columns)
    assert log.seconds.is_monotonic_increasing and (log.peak_mem_mb > 0).all()
    assert (log.loss >= 0).all()
    val = pd.read_csv(run / "val_log.csv")
    assert list(val.step) == [0, 2, 4]
    assert info["provenance"]["weights"]["reward"]["vcd_num_projections"] == "4"
    assert json.loads((run / "lora_config.json").read_text())["rank"] == 2


def test_a_killed_run_resumes_to_the_same_weights(tiny_params, tiny_items, tmp_path):
    full = run_finetune(tiny_params, "vcd", tmp_path / "full", tiny_items, progress=False)
    with pytest.raises(FinetuneInterrupted):
        run_finetune(tiny_params, "vcd", tmp_path / "killed", tiny_items, progress=False, stop_after_steps=3)
    assert read_run_info(tmp_path / "killed")["status"] == "running"  # not taken as finished
    with pytest.raises(FileNotFoundError, match="not a finished fine-tuning run"):
        require_complete_run(tmp_path / "killed")
    assert not (tmp_path / "killed" / "lora.safetensors").exists()
    resumed = run_finetune(tiny_params, "vcd", tmp_path / "killed", tiny_items, progress=False)
    assert resumed["resumed_from_step"] == 2  # the last checkpoint before the interruption
    a = load_file(str(tmp_path / "full" / "lora.safetensors"))
    b = load_file(str(tmp_path / "killed" / "lora.safetensors"))
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    log_a = pd.read_csv(tmp_path / "full" / "train_log.csv")
    log_b = pd.read_csv(tmp_path / "killed" / "train_log.csv")
    pd.testing.assert_series_equal(log_a.loss, log_b.loss)
    assert full["loss_last_quarter"] == resumed["loss_last_quarter"]


def test_gradient_checkpointing_trades_memory_not_numerics(tiny_params, tiny_items, tmp_path):
    """Checkpointing recomputes activations to save memory; the losses must not change."""
    logs = {}
    for flag in (True, False):
        params = copy.deepcopy(tiny_params)
        params["finetune"]["gradient_checkpointing"] = flag
        run_finetune(params, "vcd", tmp_path / str(flag), tiny_items, progress=False)
        logs[flag] = pd.read_csv(tmp_path / str(flag) / "train_log.csv")
    pd.testing.assert_series_equal(logs[True].loss, logs[False].loss)


def test_changed_settings_start_afresh(tiny_params, tiny_items, tmp_path):
    with pytest.raises(FinetuneInterrupted):
        run_finetune(tiny_params, "vcd", tmp_path / "run", tiny_items, progress=False, stop_after_steps=3)
    other = copy.deepcopy(tiny_params)
    other["finetune"]["lr"] = 5e-3
    info = run_finetune(other, "vcd", tmp_path / "run", tiny_items, progress=False)
    assert info["resumed_from_step"] == 0


def test_a_retrained_base_model_or_new_split_starts_afresh(tiny_params, tiny_items, tmp_path):
    """Same settings, different base weights or training items: never resume stale adapters."""
    import shutil

    from safetensors.torch import save_file

    with pytest.raises(FinetuneInterrupted):
        run_finetune(tiny_params, "vcd", tmp_path / "run", tiny_items, progress=False, stop_after_steps=3)
    retrained = tmp_path / "retrained_base"
    shutil.copytree(tiny_params["model"]["toy"]["dir"], retrained)
    weights = next(retrained.glob("transformer/*.safetensors"))
    state = load_file(str(weights))
    key = next(iter(state))
    state[key] = state[key] + 0.01
    save_file(state, str(weights))
    other = copy.deepcopy(tiny_params)
    other["model"]["toy"]["dir"] = str(retrained)
    with pytest.raises(FinetuneInterrupted):
        run_finetune(other, "vcd", tmp_path / "run", tiny_items, progress=False, stop_after_steps=3)
    assert read_run_info(tmp_path / "run")["resumed_from_step"] == 0
    fewer = run_finetune(other, "vcd", tmp_path / "run", tiny_items[1:], progress=False)
    assert fewer["resumed_from_step"] == 0


@pytest.mark.parametrize(
    "change, error, match",
    [
        (lambda p: None, ValueError, "unknown reward 'vcd_best'"),
        (lambda p: p["finetune"].update(backprop_steps=9), ValueError, r"backprop_steps \(K\) must be between 1 and"),
        (lambda p: p["finetune"].update(steps=0), ValueError, "finetune.steps must be >= 1"),
        (lambda p: p["finetune"]["lora"].update(target_modules=["qkv_fused"]), ValueError, "match no linear layer"),
        (lambda p: p["model"].update(name="wan2.1-fun-1.3b-inp"), FileNotFoundError, "not in the local Hugging Face cache"),
    ],
)
def test_bad_input_fails_before_compute_without_a_run_folder(tiny_params, tiny_items, tmp_path, change, error, match):
    params = copy.deepcopy(tiny_params)
    change(params)
    reward = "vcd_best" if "vcd_best" in match else "vcd"
    with pytest.raises(error, match=match):
        run_finetune(params, reward, tmp_path / "runs" / "x", tiny_items, progress=False)
    assert not (tmp_path / "runs" / "x").exists()


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
def test_unwritable_output_folder(tiny_params, tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    with pytest.raises(PermissionError, match="cannot write the run folder"):
        validate_finetune(tiny_params, "vcd", locked / "run")


def test_unwritable_output_folder_is_detected(tiny_params, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    with pytest.raises(PermissionError, match="cannot write the run folder"):
        validate_finetune(tiny_params, "vcd", blocker / "run")
