"""End to end: `dvc repro` of the whole default pipeline in a temporary copy of the
repository, with tiny parameters, the network blocked, and checks of what it wrote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from PIL import Image

from vcd.config import apply_overlay

REPO = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).resolve().parent / "fixtures"
# Products of the pipeline are not copied: the copy must regenerate them from scratch.
PRODUCTS = ("results/", "runs/", "models/", "data/splits/", "data/cache/", "dvc.lock")

pytestmark = pytest.mark.pipeline


def _source_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                         capture_output=True, text=True, check=True).stdout.split("\n")
    return [f for f in out if f and not f.startswith(PRODUCTS) and (REPO / f).is_file()]


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    work = tmp_path_factory.mktemp("repo")
    for rel in _source_files():
        (work / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, work / rel)
    apply_overlay(work / "params.yaml", yaml.safe_load((FIXTURES / "smoke_params.yaml").read_text()))
    log = work.parent / "network.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_", "DIFFUSERS_"))}
    env.update({
        "PYTHONPATH": str(FIXTURES / "network_guard"),
        "VCD_NETWORK_LOG": str(log),
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
        "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
    })
    _run(["git", "init", "-q"], work, env)
    dvc = [sys.executable, "-m", "dvc"]
    _run(dvc + ["repro"], work, env)
    return {"work": work, "env": env, "log": log, "dvc": dvc}


def test_no_stage_touched_the_network(pipeline):
    assert not pipeline["log"].exists() or pipeline["log"].read_text() == ""


def test_data_split_outputs(pipeline):
    work = pipeline["work"]
    summary = json.loads((work / "results/data/split_summary.json").read_text())
    embedded = summary["datasets"]["embedded"]
    assert embedded["train"] == 2 and embedded["eval"] == 2 and embedded["files_rejected"] == 0
    assert embedded["files"] == embedded["files_ok"] + embedded["files_converted"]
    train = json.loads((work / "data/splits/embedded/train.json").read_text())
    for item in train["items"]:
        assert Image.open(work / "data/splits/embedded" / item["image"]).size == (112, 80)
    assert summary["provenance"]["profile"] == "default"


def test_sanity_outputs(pipeline):
    work = pipeline["work"]
    metrics = json.loads((work / "results/sanity/metrics.json").read_text())
    sep = metrics["separation"]
    assert sep["appearance_drift_mean"] > sep["natural_motion_mean"] > 0
    assert 0 <= sep["auc_drift_above_motion"] <= 1
    assert set(metrics["shift_relative_distance"]) == {"paper", "paper:amplitude", "paper:phase", "l2", "l2:amplitude", "l2:phase"}
    assert metrics["provenance"]["weights"]["encoder"]["encoder_weights"] == "random"
    for name in ("vcd_motion_vs_drift", "amplitude_vs_phase", "shift_sensitivity", "temporal_weight", "synthetic_videos"):
        with Image.open(work / f"results/sanity/{name}.png") as img:
            assert img.size[0] > 300 and img.size[1] > 200
    assert (work / "results/notebooks/02_vcd_sanity.ipynb").is_file()


def test_dvc_metrics_and_plots_show(pipeline):
    work, env, dvc = pipeline["work"], pipeline["env"], pipeline["dvc"]
    shown = json.loads(_run(dvc + ["metrics", "show", "--json"], work, env).stdout)
    files = next(iter(shown.values()))["data"]
    assert "results/sanity/metrics.json" in files and "results/data/split_summary.json" in files
    _run(dvc + ["plots", "show", "--json"], work, env)


def test_same_params_give_the_same_numbers(pipeline):
    work, env, dvc = pipeline["work"], pipeline["env"], pipeline["dvc"]
    before = json.loads((work / "results/sanity/metrics.json").read_text())
    status = _run(dvc + ["status"], work, env).stdout
    assert "up to date" in status.lower() or status.strip() == ""
    _run(dvc + ["repro", "--force", "vcd_sanity"], work, env)
    after = json.loads((work / "results/sanity/metrics.json").read_text())
    assert after["separation"] == before["separation"]
    assert after["shift_relative_distance"] == before["shift_relative_distance"]


def test_network_guard_catches_outgoing_connections(tmp_path):
    log = tmp_path / "net.log"
    env = {**os.environ, "PYTHONPATH": str(FIXTURES / "network_guard"), "VCD_NETWORK_LOG": str(log)}
    code = "import urllib.request\ntry:\n    urllib.request.urlopen('http://example.com', timeout=2)\nexcept OSError as e:\n    print('blocked', e)"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert "blocked" in out and "example.com" in log.read_text()
