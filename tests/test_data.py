"""Datasets: embedded manifest, image checks with broken files, loaders, split."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tiny import settings_of
from vcd.data import (
    DatasetNotFoundError,
    Item,
    build_split,
    load_ai_artbench,
    load_embedded,
    load_i2v_bench,
    load_manifest,
    load_rgb,
    load_vbench_i2v,
    prepare_image,
    read_split,
    resolve_image,
    split_items,
)
from vcd.layout import Layout
from vcd.settings import DataSettings, VideoSpec, parse
from vcd.video_io import write_video

REPO = Path(__file__).resolve().parents[1]
MANIFEST = Layout(REPO).embedded_manifest


def _photo(h: int = 120, w: int = 160, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.random((h, w, 3)) * 255).astype(np.uint8)


@pytest.fixture()
def broken_images(tmp_path: Path) -> dict[str, Path]:
    """One file per failure or conversion case."""
    files: dict[str, Path] = {}
    Image.fromarray(_photo()).save(files.setdefault("ok", tmp_path / "ok.png"))
    Image.fromarray(_photo()[..., 0]).save(files.setdefault("gray", tmp_path / "gray.png"))
    rgba = np.dstack([_photo(), np.full((120, 160), 128, np.uint8)])
    Image.fromarray(rgba, mode="RGBA").save(files.setdefault("rgba", tmp_path / "rgba.png"))
    Image.fromarray(_photo()).convert("P").save(files.setdefault("palette", tmp_path / "palette.png"))
    Image.fromarray(_photo()).convert("CMYK").save(files.setdefault("cmyk", tmp_path / "cmyk.jpg"))
    sixteen = (np.linspace(0, 65535, 120 * 160).reshape(120, 160)).astype(np.uint16)
    Image.fromarray(sixteen).save(files.setdefault("gray16", tmp_path / "gray16.png"))
    Image.fromarray(_photo(20, 30)).save(files.setdefault("tiny", tmp_path / "tiny.png"))
    full = tmp_path / "full.jpg"
    Image.fromarray(_photo(400, 400)).save(full, quality=95)
    data = full.read_bytes()
    files["truncated"] = tmp_path / "truncated.jpg"
    files["truncated"].write_bytes(data[: len(data) // 3])
    files["empty"] = tmp_path / "empty.png"
    files["empty"].write_bytes(b"")
    files["garbage"] = tmp_path / "garbage.png"
    files["garbage"].write_bytes(b"this is not an image" * 20)
    files["missing"] = tmp_path / "missing.png"
    return files


EXPECTED = {
    "ok": ("ok", ""),
    "gray": ("converted", "grayscale converted to RGB"),
    "rgba": ("converted", "alpha channel composited onto white"),
    "palette": ("converted", "palette image converted to RGB"),
    "cmyk": ("converted", "CMYK converted to RGB"),
    "gray16": ("converted", "16-bit grayscale scaled to 8 bits"),
    "tiny": ("rejected", "too small"),
    "truncated": ("rejected", "truncated or corrupt"),
    "empty": ("rejected", "zero-length file"),
    "garbage": ("rejected", "not a readable image format"),
    "missing": ("rejected", "file not found"),
}


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_load_rgb_converts_or_rejects_with_reason(broken_images, case):
    rgb, report = load_rgb(broken_images[case], case, min_side=64)
    status, reason = EXPECTED[case]
    assert report.status == status
    assert reason in "; ".join(report.reasons)
    if status == "rejected":
        assert rgb is None
    else:
        assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3


def test_sixteen_bit_is_scaled_not_clipped(broken_images):
    rgb, _ = load_rgb(broken_images["gray16"], min_side=64)
    assert rgb.min() == 0 and rgb.max() == 255  # full 16-bit range maps to full 8-bit range


def test_alpha_composited_onto_white(tmp_path):
    transparent = np.zeros((80, 80, 4), np.uint8)
    Image.fromarray(transparent, mode="RGBA").save(tmp_path / "t.png")
    rgb, _ = load_rgb(tmp_path / "t.png", min_side=64)
    assert (rgb == 255).all()


def test_prepare_image_centre_crops_to_aspect_then_resizes():
    img = np.zeros((100, 300, 3), np.uint8)
    img[:, 100:200] = 255  # centre third is white
    out = prepare_image(img, 56, 40)
    assert out.shape == (40, 56, 3)
    assert out[:, 20:36].mean() > 200 and out[:, :5].mean() < 60  # the white centre survives


def test_embedded_manifest_is_complete_and_offline():
    meta, items = load_manifest(MANIFEST)
    assert meta["dataset"] == "embedded" and len(items) >= 12
    for item in items:
        assert item.caption and item.source and item.license, item.id
        assert item.image.startswith("pkg://"), "embedded images must ship inside installed packages"
        path = resolve_image(item.image)
        assert path.is_file(), f"{item.id}: {path} is not bundled"
        rgb, report = load_rgb(path, item.id)
        assert rgb is not None, report.reasons
    assert all(it.image == orig.image for it, orig in zip(load_embedded(MANIFEST), items))


def test_split_is_seeded_disjoint_and_order_independent():
    items = [Item(id=f"im{i:02d}", image="x", caption="c", dataset="d") for i in range(20)]
    train, evaluation = split_items(items, 5, 10, seed=3)
    assert len(train) == 5 and len(evaluation) == 10
    assert not {it.id for it in train} & {it.id for it in evaluation}
    again = split_items(list(reversed(items)), 5, 10, seed=3)
    assert [it.id for it in again[0]] == [it.id for it in train]
    other = split_items(items, 5, 10, seed=4)
    assert [it.id for it in other[0]] != [it.id for it in train]
    rest = split_items(items, 5, None, seed=3)[1]
    assert len(rest) == 15
    with pytest.raises(ValueError, match="cannot split 20 items"):
        split_items(items, 15, 10, seed=0)


def test_build_split_reports_every_file(tmp_path, broken_images, tiny_params):
    layout = Layout(tmp_path / "project")
    records = [{"id": name, "image": str(path), "caption": f"a {name} image"} for name, path in broken_images.items()]
    layout.embedded_manifest.parent.mkdir(parents=True)
    layout.embedded_manifest.write_text(json.dumps({"dataset": "mine", "items": records}))
    data = settings_of(tiny_params, **{"data.embedded": {"n_train": 2, "n_eval": 3}}).data
    summary = build_split("embedded", data, layout, VideoSpec(56, 40, 9, 8), progress=False)
    assert summary["files"] == len(broken_images)
    assert summary["files_rejected"] == 5 and summary["usable_items"] == 6
    # the split is made over every listed item; unusable ones then leave their part (counted)
    assert summary["train"] + summary["train_rejected"] == 2 and summary["eval"] + summary["eval_rejected"] == 3
    assert summary["train_rejected"] + summary["eval_rejected"] <= summary["files_rejected"]
    with layout.split_report("embedded").open() as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    assert set(rows) == set(broken_images)
    for name, (status, reason) in EXPECTED.items():
        assert rows[name]["status"] == status and reason in rows[name]["reasons"]
    for part in ("train", "eval"):
        for item in read_split(layout, "embedded", part):
            assert Image.open(item.image).size == (56, 40)
            assert item.extra["original"]


def test_i2v_bench_loader_extracts_first_frames(tmp_path):
    videos = tmp_path / "videos"
    for k in range(3):
        frames = np.stack([_photo(64, 96, seed=k)] * 5)
        frames[1:] //= 2
        write_video(videos / f"clip{k}.mp4", frames)
    (videos / "broken.mp4").write_bytes(b"")
    captions = [{"video": f"clip{k}.mp4", "caption": f"clip number {k}"} for k in range(3)]
    captions.append({"video": "broken.mp4", "caption": "a broken clip"})
    (tmp_path / "captions.json").write_text(json.dumps(captions))
    items = load_i2v_bench(videos, tmp_path / "captions.json", Layout(tmp_path))
    assert [it.id for it in items] == ["broken", "clip0", "clip1", "clip2"]
    first, _ = load_rgb(items[1].image, min_side=32)
    assert first.shape == (64, 96, 3) and abs(int(first.mean()) - int(_photo(64, 96, 0).mean())) < 10
    # a broken video is kept and rejected with a reason by the image check, not dropped
    _, report = load_rgb(items[0].image)
    assert report.status == "rejected"
    assert Layout(tmp_path).i2v_bench_frame_error("broken").read_text().startswith(str(videos / "broken.mp4"))


def test_i2v_bench_mismatched_captions_are_listed(tmp_path):
    write_video(tmp_path / "v" / "a.mp4", np.stack([_photo(32, 32)] * 2))
    (tmp_path / "c.csv").write_text("video,caption\nb.mp4,only b\n")
    with pytest.raises(
        ValueError, match=r"1 video\(s\) without caption \(e.g. \['a'\]\), 1 caption\(s\) without video"
    ):
        load_i2v_bench(tmp_path / "v", tmp_path / "c.csv", Layout(tmp_path))


def test_vbench_loader_maps_camera_motion_prompts_to_base_images(tmp_path):
    crop = tmp_path / "crop" / "1-1"
    crop.mkdir(parents=True)
    Image.fromarray(_photo()).save(crop / "a red car.jpg")
    info = [
        {
            "prompt_en": "a red car",
            "dimension": ["i2v_subject"],
            "image_type": "transportation",
            "image_name": "a red car.jpg",
        },
        {"prompt_en": "a red car, camera pans left", "dimension": ["camera_motion"], "image_type": "transportation"},
    ]
    (tmp_path / "info.json").write_text(json.dumps(info))
    items = load_vbench_i2v(tmp_path, tmp_path / "info.json", "1-1", True)
    assert [it.caption for it in items] == ["a red car", "a red car, camera pans left"]
    assert items[0].image == items[1].image == str(crop / "a red car.jpg")
    assert len(load_vbench_i2v(tmp_path, tmp_path / "info.json", "1-1", include_camera_motion=False)) == 1
    with pytest.raises(DatasetNotFoundError, match="available ratios: \\['1-1'\\]"):
        load_vbench_i2v(tmp_path, tmp_path / "info.json", "16-9", True)


def test_ai_artbench_requires_a_prompt_per_image(tmp_path):
    Image.fromarray(_photo()).save(tmp_path / "wave.jpg")
    Image.fromarray(_photo()).save(tmp_path / "mountain.jpg")
    (tmp_path / "prompts.json").write_text(json.dumps({"wave.jpg": "a great wave"}))
    with pytest.raises(ValueError, match=r"1 AI-ArtBench image\(s\) have no prompt .*mountain.jpg"):
        load_ai_artbench(tmp_path, tmp_path / "prompts.json")
    (tmp_path / "prompts.json").write_text(json.dumps({"wave.jpg": "a great wave", "mountain": "a mountain"}))
    assert [it.caption for it in load_ai_artbench(tmp_path, tmp_path / "prompts.json")] == [
        "a mountain",
        "a great wave",
    ]


@pytest.mark.parametrize(
    "loader, kwargs, needle",
    [
        (load_i2v_bench, {"root": None, "captions": None, "layout": Layout(Path("x"))}, "data.i2v_bench.root"),
        (
            load_i2v_bench,
            {"root": "/no/such/dir", "captions": "/no/c.json", "layout": Layout(Path("x"))},
            "/no/such/dir",
        ),
        (
            load_vbench_i2v,
            {"root": "/no/vbench", "info_json": "/no/info.json", "ratio": "1-1", "include_camera_motion": True},
            "download_data.sh",
        ),
        (load_ai_artbench, {"root": "/no/art", "prompts": "/no/p.json"}, "AI-ArtBench"),
    ],
)
def test_missing_dataset_paths_say_how_to_get_them(loader, kwargs, needle):
    with pytest.raises(DatasetNotFoundError) as info:
        loader(**kwargs)
    assert needle in str(info.value) and "data/README.md" in str(info.value)


def _split_project(tmp_path: Path, records: list[dict], tiny_params, n_train: int = 2, n_eval: int | None = None):
    layout = Layout(tmp_path / "project")
    layout.embedded_manifest.parent.mkdir(parents=True, exist_ok=True)
    layout.embedded_manifest.write_text(json.dumps({"dataset": "mine", "items": records}))
    # the data section alone: a split with no training part is valid data, though no
    # pipeline could fine-tune on it (Settings refuses that combination)
    raw = {**tiny_params["data"], "embedded": {"n_train": n_train, "n_eval": n_eval}}
    return layout, parse(DataSettings, raw, "data")


@pytest.mark.parametrize(
    "captions, match",
    [
        (["a cat / dog", "a cat _ dog"], "same file names as those of"),
        (["x" * 250, "fine"], "would exceed 255 bytes"),
        # a blank caption: rejected as the manifest is read
        (["   ", "fine"], r"lacks required field\(s\) \[.caption.\]"),
        (["two\nlines", "fine"], "control character"),
        ([" padded", "fine"], "starts or ends with a space"),
    ],
)
def test_prompts_that_cannot_name_vbench_videos_fail_at_split_time(tmp_path, tiny_params, captions, match):
    records = []
    for k, caption in enumerate(captions):
        Image.fromarray(_photo(seed=k)).save(tmp_path / f"im{k}.png")
        records.append({"id": f"im{k}", "image": str(tmp_path / f"im{k}.png"), "caption": caption})
    layout, data = _split_project(tmp_path, records, tiny_params, n_train=0)
    with pytest.raises(ValueError, match=match):
        build_split("embedded", data, layout, VideoSpec(56, 40, 9, 8), progress=False)


def test_an_unreadable_file_does_not_move_other_items_between_train_and_eval(tmp_path, tiny_params):
    records = []
    for k in range(12):
        Image.fromarray(_photo(seed=k)).save(tmp_path / f"im{k:02d}.png")
        records.append({"id": f"im{k:02d}", "image": str(tmp_path / f"im{k:02d}.png"), "caption": f"photo {k}"})
    layout, data = _split_project(tmp_path, records, tiny_params, n_train=4, n_eval=6)
    build_split("embedded", data, layout, VideoSpec(56, 40, 9, 8), progress=False)
    before = {part: {it.id for it in read_split(layout, "embedded", part)} for part in ("train", "eval")}
    victim = sorted(before["train"])[0]
    (tmp_path / f"{victim}.png").write_bytes(b"")  # one file becomes unreadable
    summary = build_split("embedded", data, layout, VideoSpec(56, 40, 9, 8), progress=False)
    after = {part: {it.id for it in read_split(layout, "embedded", part)} for part in ("train", "eval")}
    assert after["train"] == before["train"] - {victim} and after["eval"] == before["eval"]
    assert summary["train_rejected"] == 1 and summary["train"] == 3 and summary["eval_rejected"] == 0


def test_a_manifest_item_with_a_blank_caption_is_an_error(tmp_path):
    (tmp_path / "m.json").write_text(json.dumps({"items": [{"id": "a", "image": "x.png", "caption": "   "}]}))
    with pytest.raises(ValueError, match=r"lacks required field\(s\) \['caption'\]"):
        load_manifest(tmp_path / "m.json")
