"""Generating a method's evaluation videos: VBench naming, reuse, stale folders."""

from __future__ import annotations

import pytest

from vcd.data import Item
from vcd.generation import check_unique_prompts, generate_method_videos
from vcd.models import load_pipeline
from vcd.video_io import read_video


def test_generation_skips_complete_videos_and_discards_stale_ones(tiny_settings, tiny_layout, tiny_items):
    pipe = load_pipeline(tiny_settings.model, tiny_layout, "cpu")
    layout, sampling = tiny_layout, tiny_settings.sampling

    def generate(fingerprint):
        return generate_method_videos(
            pipe, tiny_items[:2], [0, 1], layout, "m", "d", sampling, 8, fingerprint, progress=False
        )

    assert generate("a") == {"generated": 4, "skipped": 0}
    assert read_video(layout.video_file("m", "d", tiny_items[0].caption, 1)).shape == (5, 32, 32, 3)
    assert (
        layout.video_file("m", "d", tiny_items[0].caption, 1).name == f"{tiny_items[0].caption}-1.mp4"
    )  # VBench's naming
    assert layout.conditioning_image("m", "d", tiny_items[0].caption).is_file()
    layout.video_file("m", "d", tiny_items[1].caption, 0).write_bytes(b"")  # a video cut short by an interruption
    assert generate("a") == {"generated": 1, "skipped": 3}
    assert generate("b") == {"generated": 4, "skipped": 0}  # other settings: every old video is stale


def test_prompts_must_be_unique_per_dataset():
    items = [Item(id=f"i{k}", image="x.png", caption="the same prompt", dataset="d") for k in range(2)]
    with pytest.raises(ValueError, match="unique prompts"):
        check_unique_prompts(items)
