"""The scripts that run in the official tools' own environments, exercised here with
stand-ins for VBench's modules (the real ones: tests/test_official_vbench.py, official)."""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = REPO / "scripts" / "official"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(f"official_{name}", SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_videoscore_uses_every_frame_up_to_its_maximum_as_upstream():
    frame_indices = _load("run_videoscore").frame_indices
    assert frame_indices(25, 48).tolist() == list(range(25))  # a 25-frame Wan video: each frame once
    assert frame_indices(81, 48).tolist() == np.arange(0, 81, 81 / 48).astype(int).tolist()
    picked = frame_indices(100, 16)
    assert len(picked) == 16 and len(set(picked)) == 16 and picked[0] == 0


@pytest.fixture
def fake_vbench(monkeypatch, tmp_path):
    """VBench's package layout with compute functions that record how they are called."""
    calls = []

    def compute(dimension):
        def run(info, device, submodules, **kwargs):
            entries = json.loads(Path(info).read_text())
            images = [Path("vbench2_beta_i2v/data/crop/generated") / e["image_name"] for e in entries]
            calls.append({"dimension": dimension, "kwargs": kwargs, "images_found": all(p.is_file() for p in images)})
            per_video = [{"video_path": v, "video_results": 0.5} for e in entries for v in e["video_list"]]
            if dimension == "camera_motion":
                return 0.5, {"pan_left": 0.5}, per_video
            return 0.5, per_video

        return run

    def init(dimensions, **_):
        return {d: {} for d in dimensions}

    for package in ("vbench", "vbench2_beta_i2v"):
        monkeypatch.setitem(sys.modules, package, types.ModuleType(package))
        utils = types.ModuleType(f"{package}.utils")
        utils.init_submodules = init
        monkeypatch.setitem(sys.modules, f"{package}.utils", utils)
    for dimension in ("i2v_subject", "camera_motion", "imaging_quality", "temporal_flickering"):
        package = "vbench2_beta_i2v" if dimension in ("i2v_subject", "camera_motion") else "vbench"
        module = types.ModuleType(f"{package}.{dimension}")
        setattr(module, f"compute_{dimension}", compute(dimension))
        monkeypatch.setitem(sys.modules, f"{package}.{dimension}", module)
    return calls


def test_runner_links_the_images_passes_imaging_mode_and_keeps_three_part_results(fake_vbench, tmp_path):
    run_vbench = _load("run_vbench")
    images = tmp_path / "conditioning"
    images.mkdir()
    (images / "a cat.png").write_bytes(b"png")
    info = tmp_path / "info.json"
    info.write_text(
        json.dumps(
            [{"prompt_en": "a cat", "dimension": [], "video_list": ["/v/a cat-0.mp4"], "image_name": "a cat.png"}]
        )
    )
    job = {
        "method": "base",
        "dataset": "embedded",
        "info": str(info),
        "images": str(images),
        "results": str(tmp_path / "out" / "base_embedded_eval_results.json"),
        "versions": str(tmp_path / "out" / "base_embedded.versions.json"),
        "dimensions": ["i2v_subject", "camera_motion", "imaging_quality", "temporal_flickering"],
    }
    out = run_vbench.run_job(job, job["dimensions"], "cpu", "generated")
    assert all(call["images_found"] for call in fake_vbench)  # found where VBench-I2V looks
    assert {c["kwargs"].get("imaging_quality_preprocessing_mode") for c in fake_vbench} == {"longer"}
    results = json.loads(out.read_text())
    assert len(results["camera_motion"]) == 3 and len(results["temporal_flickering"]) == 2
    assert (out.parent / "base_embedded.versions.json").is_file()
    assert not list(out.parent.glob(".*.tmp"))


def test_runner_stops_with_a_clear_message_without_jobs(tmp_path, capsys):
    assert _load("run_vbench").main(["--jobs", str(tmp_path / "none.json")]) == 2
    assert "python -m vcd.official prepare" in capsys.readouterr().out


def test_official_environment_is_the_released_package_with_what_it_forgets():
    requirements = (SCRIPTS / "vbench-requirements.txt").read_text().split()
    assert "vbench==0.1.5" in requirements  # PyPI release with its own pins, not a git commit
    assert any(r.startswith("dreamsim==") for r in requirements)  # i2v_background imports it
    setup = (SCRIPTS / "setup_envs.sh").read_text()
    # torch is installed first and held by a constraint, so VBench's dependencies cannot move it
    assert "--constraint" in setup and "torch<2.0" not in setup
    assert "VBench/requirements.txt" not in setup and "pip install -e" not in setup  # no git commit's pins
