"""Weight-free VBench-style metrics and scoring of bad videos."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from vcd.data import Item, load_rgb, resolve_image
from vcd.evaluation import (aligned_ssim, dynamic_degree_farneback, evaluate_video, frame_descriptors, i2v_subject,
                            motion_smoothness_linear, score_videos, ssim, subject_consistency, temporal_flickering, video_name)
from vcd.video_io import write_video


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    import cv2

    rgb, _ = load_rgb(resolve_image("pkg://skimage/data/chelsea.png"))
    return cv2.resize(rgb, (160, 112), interpolation=cv2.INTER_AREA)


def _pan(photo: np.ndarray, step: int, n: int = 9) -> np.ndarray:
    return np.stack([photo[10:90, 8 + step * k : 120 + step * k] for k in range(n)])


def test_temporal_flickering_formula():
    frames = np.zeros((3, 8, 8, 3), np.uint8)
    frames[1] = 51  # |0-51| then |51-0|: mean 51
    assert temporal_flickering(frames) == pytest.approx((255 - 51) / 255)
    assert temporal_flickering(np.full((4, 8, 8, 3), 7, np.uint8)) == 1.0


def test_motion_smoothness_is_perfect_for_linear_fades_and_penalises_jitter():
    ramp = np.stack([np.full((8, 8, 3), 20 * k, np.uint8) for k in range(9)])
    assert motion_smoothness_linear(ramp) == pytest.approx(1.0)
    jitter = ramp.copy()
    jitter[1::2] = 200
    assert motion_smoothness_linear(jitter) < 0.7


def test_dynamic_degree_follows_vbench_rule(photo):
    still = np.stack([photo[10:90, 8:120]] * 9)
    moving, _ = dynamic_degree_farneback(_pan(photo, 4))  # 4 px per frame > 6 * 80 / 256 = 1.875 px
    static, scores = dynamic_degree_farneback(still)
    assert moving and not static and max(scores) < 0.1


def test_hog_descriptor_consistency_scores(photo):
    pan = _pan(photo, 1)
    desc = frame_descriptors(pan)
    assert desc.shape[0] == 9 and np.allclose(np.linalg.norm(desc, axis=1), 1, atol=1e-5)
    score, conformity = i2v_subject(desc[0], desc)
    assert 0.9 < score <= 1.0 + 1e-6 and 0.9 < conformity <= 1.0 + 1e-6
    noise = np.random.default_rng(0).integers(0, 255, pan.shape, dtype=np.uint8)
    assert subject_consistency(frame_descriptors(noise)) < subject_consistency(desc)


def test_aligned_ssim_forgives_a_pan_but_not_a_fade(photo):
    pan = _pan(photo, 3)
    raw = float(ssim(torch.from_numpy(pan[-1]).permute(2, 0, 1)[None].float() / 255, torch.from_numpy(pan[0]).permute(2, 0, 1)[None].float() / 255))
    aligned = aligned_ssim(pan[0], pan)
    assert aligned > 0.95 > raw
    fade = np.stack([(pan[0] * (1 - 0.08 * k)).astype(np.uint8) for k in range(9)])
    assert aligned_ssim(pan[0], fade) < aligned - 0.1


def test_ssim_matches_scikit_image():
    from skimage.metrics import structural_similarity

    g = torch.Generator().manual_seed(0)
    a = torch.rand(1, 3, 40, 56, generator=g)
    b = (0.6 * a + 0.4 * torch.rand(1, 3, 40, 56, generator=g))
    ref = structural_similarity(a[0].permute(1, 2, 0).numpy(), b[0].permute(1, 2, 0).numpy(), channel_axis=2, gaussian_weights=True,
                                sigma=1.5, use_sample_covariance=False, data_range=1.0)
    assert float(ssim(a, b)) == pytest.approx(ref, abs=1e-5)


def test_evaluate_video_rejects_bad_shapes(photo):
    frames = _pan(photo, 1)
    with pytest.raises(ValueError, match="at least 2"):
        evaluate_video(frames[:1], frames[0])
    with pytest.raises(ValueError, match="conditioning image is"):
        evaluate_video(frames, photo)


def test_scoring_keeps_bad_videos_as_excluded_rows(tmp_path, photo):
    from PIL import Image

    cond_path = tmp_path / "cond.png"
    Image.fromarray(photo[10:90, 8:120]).save(cond_path)
    items = [Item(id=f"i{k}", image=str(cond_path), caption=f"prompt {k}", dataset="d") for k in range(5)]
    folder = tmp_path / "videos"
    good = _pan(photo, 1)
    write_video(folder / video_name("prompt 0", 0), good)
    (folder / video_name("prompt 1", 0)).write_bytes(b"")  # zero-length
    (folder / video_name("prompt 2", 0)).write_bytes(b"not a video" * 50)  # corrupt
    write_video(folder / video_name("prompt 3", 0), good[:1])  # one frame
    write_video(folder / video_name("prompt 4", 0), np.stack([np.zeros((64, 96, 3), np.uint8)] * 9))  # other resolution
    per_video, per_frame = score_videos("m", "d", items, [0], folder, None, 9, (112, 80), progress=False)
    status = dict(zip(per_video.image_id, per_video.status))
    reasons = dict(zip(per_video.image_id, per_video.reason))
    assert status == {"i0": "ok", "i1": "excluded", "i2": "excluded", "i3": "excluded", "i4": "excluded"}
    assert "zero-length" in reasons["i1"] and "cannot be decoded" in reasons["i2"]
    assert "1 frame(s), expected 9" in reasons["i3"] and "expected 112x80" in reasons["i4"]
    assert per_video.loc[per_video.image_id == "i1", "temporal_flickering"].isna().all()
    assert per_video.loc[per_video.image_id == "i0", "temporal_flickering"].notna().all()
    missing, _ = score_videos("m", "d", items[:1], [0], tmp_path / "no_such_method", None, 9, (112, 80), progress=False)
    assert missing.status.tolist() == ["excluded"] and "method folder missing" in missing.reason[0]


def test_generation_skips_complete_videos_and_discards_stale_ones(tiny_params, tiny_items, tmp_path):
    from vcd.evaluation import generate_method_videos
    from vcd.models import load_pipeline
    from vcd.video_io import read_video

    pipe = load_pipeline(tiny_params["model"], "cpu")
    video, model = tiny_params["video"], tiny_params["model"]
    out = tmp_path / "videos"
    first = generate_method_videos(pipe, tiny_items[:2], [0, 1], out, video, model, fingerprint="a", progress=False)
    assert first == {"generated": 4, "skipped": 0}
    assert read_video(out / video_name(tiny_items[0].caption, 1)).shape == (5, 32, 32, 3)
    assert (out / "conditioning" / f"{tiny_items[0].caption}.png").is_file()
    (out / video_name(tiny_items[1].caption, 0)).write_bytes(b"")  # a video cut short by an interruption
    again = generate_method_videos(pipe, tiny_items[:2], [0, 1], out, video, model, fingerprint="a", progress=False)
    assert again == {"generated": 1, "skipped": 3}
    changed = generate_method_videos(pipe, tiny_items[:2], [0, 1], out, video, model, fingerprint="b", progress=False)
    assert changed == {"generated": 4, "skipped": 0}  # other settings: every old video is stale


def test_evaluate_method_writes_tables_and_reuses_videos(tiny_params, tiny_items, tmp_path, monkeypatch):
    """The base model and a fine-tuned run: per-method CSVs, videos reused on a re-run,
    regenerated when the LoRA changes; an unfinished run is refused before any work."""
    import json

    from vcd.data import write_manifest
    from vcd.evaluation import evaluate_method
    from vcd.models import add_lora, load_pipeline, save_lora

    monkeypatch.chdir(tmp_path)
    write_manifest(tmp_path / "data/splits/tiny/eval.json", "tiny", tiny_items[:2])  # absolute image paths
    params = {**tiny_params, "evaluation": {**tiny_params["evaluation"], "datasets": ["tiny"], "seeds": [0, 1], "vcd_seeds": [0],
                                            "video_dir": "videos", "results_dir": "eval"}}
    lora = tiny_params["finetune"]["lora"]
    pipe = load_pipeline(tiny_params["model"], "cpu")
    add_lora(pipe.transformer, lora)
    with torch.no_grad():
        for name, p in pipe.transformer.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.05)
    save_lora(pipe.transformer, tmp_path / "runs/r", lora)
    (tmp_path / "runs/r/run_info.json").write_text(json.dumps({"status": "running"}))
    with pytest.raises(FileNotFoundError, match="not a finished fine-tuning run"):
        evaluate_method(params, "r", None, progress=False)
    (tmp_path / "runs/r/run_info.json").write_text(json.dumps({"status": "complete"}))

    base = evaluate_method(params, "base", None, progress=False)
    tuned = evaluate_method(params, "r", None, progress=False)
    assert base == {"method": "base", "generated": 4, "skipped": 0, "scored": 4, "excluded": 0}
    assert tuned["generated"] == 4
    per_video = pd.read_csv(tmp_path / "eval/r/per_video.csv")
    assert len(per_video) == 4 and set(per_video.method) == {"r"} and (per_video.status == "ok").all()
    base_videos = pd.read_csv(tmp_path / "eval/base/per_video.csv")
    assert not np.allclose(per_video.temporal_flickering, base_videos.temporal_flickering)  # the LoRA changes the videos
    assert evaluate_method(params, "r", None, progress=False)["skipped"] == 4  # same model, LoRA, settings: reused
    save_lora(pipe.transformer, tmp_path / "runs/r", lora)  # same weights re-saved: still reused
    assert evaluate_method(params, "r", None, progress=False)["skipped"] == 4
    with torch.no_grad():
        for name, p in pipe.transformer.named_parameters():
            if "lora_B" in name:
                p.mul_(2)
    save_lora(pipe.transformer, tmp_path / "runs/r", lora)
    assert evaluate_method(params, "r", None, progress=False)["generated"] == 4  # another LoRA: regenerated
