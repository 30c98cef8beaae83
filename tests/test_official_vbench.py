"""VBench-I2V's protocol in the project's info files: each dimension on its own prompt
subset, each video paired with its own conditioning image, results in VBench's format.

The ``official`` test runs VBench's released code (``vbench`` from PyPI, in its own
venv named by ``VBENCH_PYTHON``; ``make check-official`` sets it up) on the same files.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vcd.data import load_vbench_i2v
from vcd.layout import Layout
from vcd.official import (
    VBENCH_DIMENSIONS,
    check_pairs,
    dimensions_for,
    expected_pairs,
    parse_vbench,
    write_vbench_jobs,
)

REPO = Path(__file__).resolve().parents[1]
FULL_INFO = REPO / "tests" / "fixtures" / "vbench_i2v" / "vbench2_i2v_full_info.json"
SEEDS = (0, 1)


def _vbench_i2v_project(tmp_path: Path, seeds=SEEDS, methods=("base",)) -> tuple[Layout, list]:
    """A project with VBench-I2V items from the real full-info format, their
    conditioning PNGs and (empty) video files: VBench's loaders only list paths."""
    data = tmp_path / "vbench_i2v"
    entries = json.loads(FULL_INFO.read_text())
    for name in {e["image_name"] for e in entries}:
        (data / "crop" / "1-1").mkdir(parents=True, exist_ok=True)
        Image.fromarray(np.full((8, 8, 3), 128, np.uint8)).save(data / "crop" / "1-1" / name)
    items = load_vbench_i2v(data, FULL_INFO, "1-1", include_camera_motion=True)
    layout = Layout(tmp_path / "project")
    for method in methods:
        for item in items:
            image = layout.conditioning_image(method, "vbench_i2v", item.caption)
            image.parent.mkdir(parents=True, exist_ok=True)
            image.write_bytes(b"png")
            for seed in seeds:
                layout.video_file(method, "vbench_i2v", item.caption, seed).write_bytes(b"mp4")
    return layout, items


def test_vbench_i2v_items_keep_their_subsets():
    entries = json.loads(FULL_INFO.read_text())
    subject = next(e for e in entries if "i2v_subject" in e["dimension"])
    background = next(e for e in entries if "i2v_background" in e["dimension"])
    camera = next(e for e in entries if e["dimension"] == ["camera_motion"])

    class It:  # the fields dimensions_for reads
        def __init__(self, entry):
            self.extra = {"dimension": entry["dimension"]}

    assert dimensions_for(It(subject), VBENCH_DIMENSIONS) == [
        "i2v_subject",
        "subject_consistency",
        "motion_smoothness",
        "dynamic_degree",
        "aesthetic_quality",
        "imaging_quality",
        "temporal_flickering",
        "overall_consistency",
    ]
    assert dimensions_for(It(background), VBENCH_DIMENSIONS) == [
        "i2v_background",
        "background_consistency",
        "aesthetic_quality",
        "imaging_quality",
        "temporal_flickering",
        "overall_consistency",
    ]
    assert dimensions_for(It(camera), VBENCH_DIMENSIONS) == ["camera_motion"]
    assert dimensions_for(It(camera), ["temporal_flickering"]) == []


def test_other_datasets_are_scored_on_every_image_dimension_but_camera_motion():
    class Plain:
        extra: dict = {}

    assert dimensions_for(Plain(), VBENCH_DIMENSIONS) == [d for d in VBENCH_DIMENSIONS if d != "camera_motion"]
    with pytest.raises(ValueError, match="unknown VBench dimension"):
        dimensions_for(Plain(), ["i2v_subjct"])


def test_info_files_follow_vbench_i2v_protocol(tmp_path):
    layout, items = _vbench_i2v_project(tmp_path)
    jobs_file, missing = write_vbench_jobs(layout, ["base"], ["vbench_i2v"], {"vbench_i2v": items}, SEEDS)
    assert missing == []
    (job,) = json.loads(jobs_file.read_text())
    info = json.loads(Path(job["info"]).read_text())
    assert len(info) == 18 and all(e["image_name"].endswith(".png") for e in info)
    # the image is the one the videos were generated from, found relative to the job's folder
    assert all((Path(job["images"]) / e["image_name"]).is_file() for e in info)
    pairs = expected_pairs(job)
    per_prompt = {d: len(v) // len(SEEDS) for d, v in pairs.items()}
    assert per_prompt["i2v_subject"] == per_prompt["subject_consistency"] == per_prompt["dynamic_degree"] == 2
    assert per_prompt["i2v_background"] == per_prompt["background_consistency"] == 2
    assert per_prompt["camera_motion"] == 14  # the seven variants of the two background images
    assert per_prompt["temporal_flickering"] == per_prompt["overall_consistency"] == 4
    assert all(
        image and Path(image).name.startswith(Path(video).name.rsplit("-", 1)[0])
        for image, video in pairs["i2v_subject"]
    )


def test_jobs_are_not_written_when_a_method_has_no_videos(tmp_path):
    layout, items = _vbench_i2v_project(tmp_path)
    with pytest.raises(FileNotFoundError, match="no videos of 'vcd' on 'vbench_i2v'"):
        write_vbench_jobs(layout, ["base", "vcd"], ["vbench_i2v"], {"vbench_i2v": items}, SEEDS)
    assert not layout.vbench_jobs.exists() and not layout.vbench_info("base", "vbench_i2v").exists()


def test_missing_videos_are_listed_not_invented(tmp_path):
    layout, items = _vbench_i2v_project(tmp_path)
    lost = layout.video_file("base", "vbench_i2v", items[0].caption, 1)
    lost.unlink()
    jobs_file, missing = write_vbench_jobs(layout, ["base"], ["vbench_i2v"], {"vbench_i2v": items}, SEEDS)
    assert missing == [layout.relative(lost)]
    (job,) = json.loads(jobs_file.read_text())
    assert str(lost.resolve()) not in json.loads(Path(job["info"]).read_text())[0]["video_list"]


def test_check_pairs_catches_a_video_paired_with_another_image(tmp_path):
    layout, items = _vbench_i2v_project(tmp_path)
    jobs_file, _ = write_vbench_jobs(layout, ["base"], ["vbench_i2v"], {"vbench_i2v": items}, SEEDS)
    (job,) = json.loads(jobs_file.read_text())
    pairs_file = Path(job["pairs"])
    good = expected_pairs(job)
    pairs_file.write_text(json.dumps(good))
    assert check_pairs(jobs_file) == []
    swapped = {**good, "i2v_subject": [[good["i2v_subject"][-1][0], v] for _, v in good["i2v_subject"]]}
    pairs_file.write_text(json.dumps(swapped))
    assert any("i2v_subject" in p for p in check_pairs(jobs_file))
    everything = {**good, "i2v_background": good["i2v_background"] + good["i2v_subject"]}
    pairs_file.write_text(json.dumps(everything))
    assert any("i2v_background: VBench selected 8 pair(s), expected 4" in p for p in check_pairs(jobs_file))


def test_camera_motion_results_have_three_parts(tmp_path):
    path = tmp_path / "r.json"
    video = "/v/a cat, camera pans left-0.mp4"
    path.write_text(
        json.dumps({"camera_motion": [1.0, {"pan_left": 1.0}, [{"video_path": video, "video_results": 1.0}]]})
    )
    frame = parse_vbench(path, "base", "vbench_i2v")
    assert frame.vbench_camera_motion.tolist() == [1.0] and frame.prompt.tolist() == ["a cat, camera pans left"]


@pytest.mark.official
@pytest.mark.skipif(not os.environ.get("VBENCH_PYTHON"), reason="needs VBench's venv (make check-official)")
def test_vbench_own_loaders_select_each_subset_with_its_image(tmp_path):
    layout, items = _vbench_i2v_project(tmp_path)
    jobs_file, _ = write_vbench_jobs(layout, ["base"], ["vbench_i2v"], {"vbench_i2v": items}, SEEDS)
    subprocess.run(
        [os.environ["VBENCH_PYTHON"], str(REPO / "scripts" / "official" / "run_vbench.py"), "--pairs"]
        + ["--jobs", str(jobs_file)],
        check=True,
    )
    assert check_pairs(jobs_file) == []
