"""A method's evaluation: bad videos kept as excluded rows, reuse, LoRA folded in, results collected."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from tiny import pan_of, settings_of
from vcd.data import Item, write_manifest
from vcd.evaluation import collect_per_video, evaluate_method, score_videos
from vcd.layout import Layout
from vcd.settings import VideoSpec
from vcd.video_io import write_video


def test_scoring_keeps_bad_videos_as_excluded_rows(tmp_path, photo):
    layout = Layout(tmp_path)
    cond_path = tmp_path / "cond.png"
    Image.fromarray(photo[10:90, 8:120]).save(cond_path)
    items = [Item(id=f"i{k}", image=str(cond_path), caption=f"prompt {k}", dataset="d") for k in range(5)]
    good = pan_of(photo, 1)
    write_video(layout.video_file("m", "d", "prompt 0", 0), good)
    layout.video_file("m", "d", "prompt 1", 0).write_bytes(b"")  # zero-length
    layout.video_file("m", "d", "prompt 2", 0).write_bytes(b"not a video" * 50)  # corrupt
    write_video(layout.video_file("m", "d", "prompt 3", 0), good[:1])  # one frame
    write_video(
        layout.video_file("m", "d", "prompt 4", 0), np.stack([np.zeros((64, 96, 3), np.uint8)] * 9)
    )  # other resolution
    spec = VideoSpec(112, 80, 9, 8)
    per_video, per_frame = score_videos("m", "d", items, [0], layout, None, spec, progress=False)
    status = dict(zip(per_video.image_id, per_video.status))
    reasons = dict(zip(per_video.image_id, per_video.reason))
    assert status == {"i0": "ok", "i1": "excluded", "i2": "excluded", "i3": "excluded", "i4": "excluded"}
    assert "zero-length" in reasons["i1"] and "cannot be decoded" in reasons["i2"]
    assert "1 frame(s), expected 9" in reasons["i3"] and "expected 112x80" in reasons["i4"]
    assert per_video.loc[per_video.image_id == "i1", "temporal_flickering"].isna().all()
    assert per_video.loc[per_video.image_id == "i0", "temporal_flickering"].notna().all()
    assert per_video.file[0] == "results/videos/m/d/prompt 0-0.mp4"  # relative to the project, machine-independent
    missing, _ = score_videos("other", "d", items[:1], [0], layout, None, spec, progress=False)
    assert missing.status.tolist() == ["excluded"] and "method folder missing" in missing.reason[0]


def test_per_frame_vcd_uses_the_metric_and_its_temporal_weight(tmp_path, photo):
    from vcd import VideoConsistencyDistance

    layout = Layout(tmp_path)
    cond_path = tmp_path / "cond.png"
    Image.fromarray(photo[10:90, 8:120]).save(cond_path)
    items = [Item(id="i0", image=str(cond_path), caption="prompt", dataset="d")]
    for seed in (0, 1):
        write_video(layout.video_file("m", "d", "prompt", seed), pan_of(photo, 1 + seed))
    metric = VideoConsistencyDistance(num_projections=4)
    per_video, per_frame = score_videos(
        "m", "d", items, [0, 1], layout, metric, VideoSpec(112, 80, 9, 8), progress=False
    )
    assert len(per_frame) == 2 * 8 and set(per_frame.frame) == set(range(2, 10))
    d = torch.tensor(per_frame[per_frame.seed == 0].vcd_unweighted.to_numpy(), dtype=torch.float32)
    weights = torch.tensor([(9 - i + 1) / 9 for i in range(2, 10)])
    assert per_video.vcd[0] == pytest.approx(float((d * weights).mean()), rel=1e-5)
    only_seed_0, frames_0 = score_videos(
        "m", "d", items, [0, 1], layout, metric, VideoSpec(112, 80, 9, 8), vcd_seeds=[0], progress=False
    )
    assert only_seed_0.vcd.isna().all() and set(frames_0.seed) == {0}  # the column is never partially filled


def test_evaluate_method_writes_tables_and_reuses_videos(tiny_params, tiny_layout, tiny_items):
    """The base model and a fine-tuned run: per-method CSVs, videos reused on a re-run,
    regenerated when the LoRA changes; an unfinished run is refused before any work."""
    from vcd.metric import metric_from_config
    from vcd.models import add_lora, load_pipeline, save_lora

    layout = tiny_layout
    write_manifest(layout.split_manifest("embedded", "eval"), "embedded", tiny_items[:2])  # absolute image paths
    settings = settings_of(
        tiny_params,
        **{
            "evaluation.seeds": [0, 1],
            "evaluation.replicate_seeds": [1],
            "evaluation.vcd_seeds": [0],
            "evaluation.tradeoff": {"items": 1, "seeds": [1]},
        },
    )
    lora = settings.finetune.lora
    pipe = load_pipeline(settings.model, layout, "cpu")
    add_lora(pipe.transformer, lora)
    with torch.no_grad():
        for name, p in pipe.transformer.named_parameters():
            if "lora_B" in name:
                p.normal_(std=0.05)
    run = layout.run("r", "embedded")
    save_lora(pipe.transformer, run, lora)
    run.dir.mkdir(parents=True)
    run.info.write_text(json.dumps({"status": "running"}))
    with pytest.raises(FileNotFoundError, match="not a finished fine-tuning run"):
        evaluate_method(settings, layout, "r", None, progress=False)
    run.info.write_text(json.dumps({"status": "complete"}))

    base = evaluate_method(settings, layout, "base", None, progress=False)
    tuned = evaluate_method(settings, layout, "r", None, progress=False)
    assert base == {"method": "base", "generated": 4, "skipped": 0, "scored": 4, "excluded": 0}
    assert tuned["generated"] == 4
    per_video = pd.read_csv(layout.method_results("r").per_video)
    assert len(per_video) == 4 and set(per_video.method) == {"r"} and (per_video.status == "ok").all()
    adapters = json.loads(layout.method_results("r").provenance.read_text())["weights"]["adapters"]
    assert adapters["embedded"]["trained_on"] == "embedded" and adapters["embedded"]["lora_content_sha256"]
    base_videos = pd.read_csv(layout.method_results("base").per_video)
    assert not np.allclose(
        per_video.temporal_flickering, base_videos.temporal_flickering
    )  # the LoRA changes the videos
    assert (
        evaluate_method(settings, layout, "r", None, progress=False)["skipped"] == 4
    )  # same model, LoRA, settings: reused
    save_lora(pipe.transformer, run, lora)  # same weights re-saved: still reused
    assert evaluate_method(settings, layout, "r", None, progress=False)["skipped"] == 4
    with torch.no_grad():
        for name, p in pipe.transformer.named_parameters():
            if "lora_B" in name:
                p.mul_(2)
    save_lora(pipe.transformer, run, lora)
    assert evaluate_method(settings, layout, "r", None, progress=False)["generated"] == 4  # another LoRA: regenerated
    collected, missing = collect_per_video(layout, ["base", "r", "never_ran"], ["embedded"])
    assert len(collected) == 8 and missing == ["never_ran"]
    # a replicate run of the study (r@1) has its own LoRA and only the replicate seeds' videos
    replicate = layout.run("r@1", "embedded")
    save_lora(pipe.transformer, replicate, lora)
    replicate.dir.mkdir(parents=True)
    replicate.info.write_text(json.dumps({"status": "complete"}))
    counts = evaluate_method(settings, layout, "r@1", None, progress=False)
    assert counts["generated"] == 2 and set(pd.read_csv(layout.method_results("r@1").per_video).seed) == {1}
    # a trade-off snapshot (r@1~3): its run's record, its own adapter, only the subset's items and seeds
    snapshot = layout.run("r@1~3", "embedded")
    assert snapshot.dir == replicate.dir and snapshot.adapter == replicate.adapter / "snapshots" / "step-000003"
    save_lora(pipe.transformer, snapshot, lora)
    metric = metric_from_config(settings.vcd, "paper")  # given, and still not used for a snapshot
    counts = evaluate_method(settings, layout, "r@1~3", metric, progress=False)
    scored = pd.read_csv(layout.method_results("r@1~3").per_video)
    assert counts["generated"] == 1 and list(scored.seed) == [1] and list(scored.image_id) == [tiny_items[0].id]
    assert pd.read_csv(layout.method_results("r@1~3").per_frame).empty  # no VCD per frame for snapshots


def test_videos_are_reused_when_only_the_adapter_file_header_changes(tiny_params, tiny_layout, tiny_items):
    """The fingerprint is the weights' content: a re-run that trains the same weights reuses the videos."""
    from vcd.models import add_lora, load_pipeline, save_lora

    layout = tiny_layout
    write_manifest(layout.split_manifest("embedded", "eval"), "embedded", tiny_items[:1])
    settings = settings_of(
        tiny_params, **{"evaluation.seeds": [0], "evaluation.replicate_seeds": [0], "evaluation.vcd_seeds": [0]}
    )
    pipe = load_pipeline(settings.model, layout, "cpu")
    add_lora(pipe.transformer, settings.finetune.lora)
    run = layout.run("r", "embedded")
    save_lora(pipe.transformer, run, settings.finetune.lora, metadata={"steps": 1})
    run.dir.mkdir(parents=True)
    run.info.write_text(json.dumps({"status": "complete"}))
    assert evaluate_method(settings, layout, "r", None, progress=False)["generated"] == 1
    save_lora(pipe.transformer, run, settings.finetune.lora, metadata={"steps": 2, "reward": "vcd"})
    assert evaluate_method(settings, layout, "r", None, progress=False)["skipped"] == 1


def test_each_dataset_is_generated_with_the_lora_of_its_training_set(tiny_params, tiny_layout, tiny_items):
    """Sec. 4.1: one LoRA per training set. With ``lora_from: {embedded: ai_artbench}`` the
    embedded videos come from the run trained on ai_artbench, not from embedded's own."""
    from vcd.evaluation import method_runs
    from vcd.models import add_lora, load_pipeline, save_lora

    layout = tiny_layout
    write_manifest(layout.split_manifest("embedded", "eval"), "embedded", tiny_items[:1])
    settings = settings_of(
        tiny_params,
        **{
            "data.datasets": ["embedded", "ai_artbench"],
            "methods.train_on": ["embedded", "ai_artbench"],
            "evaluation.lora_from": {"embedded": "ai_artbench"},
            "evaluation.seeds": [0],
            "evaluation.replicate_seeds": [0],
            "evaluation.vcd_seeds": [0],
        },
    )
    own, mapped = layout.run("r", "embedded"), layout.run("r", "ai_artbench")
    assert method_runs(settings, layout, "r") == {"embedded": mapped}
    assert method_runs(settings, layout, "base") == {"embedded": None}
    pipe = load_pipeline(settings.model, layout, "cpu")
    add_lora(pipe.transformer, settings.finetune.lora)
    for run, scale in ((own, 0.05), (mapped, 0.2)):  # two different adapters
        with torch.no_grad():
            for name, p in pipe.transformer.named_parameters():
                if "lora_B" in name:
                    p.normal_(std=scale)
        save_lora(pipe.transformer, run, settings.finetune.lora)
        run.dir.mkdir(parents=True)
    own.info.write_text(json.dumps({"status": "complete"}))
    mapped.info.write_text(json.dumps({"status": "running"}))
    with pytest.raises(FileNotFoundError, match="runs/ai_artbench/r is not a finished"):
        evaluate_method(settings, layout, "r", None, progress=False)  # embedded's own run is not a substitute
    mapped.info.write_text(json.dumps({"status": "complete"}))
    evaluate_method(settings, layout, "r", None, progress=False)
    adapter = json.loads(layout.method_results("r").provenance.read_text())["weights"]["adapters"]["embedded"]
    assert adapter["trained_on"] == "ai_artbench" and adapter["lora"] == "models/lora/ai_artbench/r/lora.safetensors"
    mapped_videos = pd.read_csv(layout.method_results("r").per_video)
    own_settings = settings_of(
        tiny_params, **{"evaluation.seeds": [0], "evaluation.replicate_seeds": [0], "evaluation.vcd_seeds": [0]}
    )
    evaluate_method(own_settings, layout, "r", None, progress=False)
    own_videos = pd.read_csv(layout.method_results("r").per_video)
    assert not np.allclose(mapped_videos.temporal_flickering, own_videos.temporal_flickering)
