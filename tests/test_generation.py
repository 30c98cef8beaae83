"""Generating a method's evaluation videos: VBench naming, reuse, stale folders."""

from __future__ import annotations

import numpy as np
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


def test_batches_of_whole_items_make_the_same_videos(tiny_settings, tiny_layout, tiny_items):
    pipe = load_pipeline(tiny_settings.model, tiny_layout, "cpu")
    layout, sampling = tiny_layout, tiny_settings.sampling
    videos = {}
    for batch in (1, 3):  # one video at a time; all three items (one seed each) in one batch
        method = f"batch{batch}"
        made = generate_method_videos(
            pipe, tiny_items[:3], [0], layout, method, "d", sampling, 8, "f", progress=False, batch_videos=batch
        )
        assert made == {"generated": 3, "skipped": 0}
        videos[batch] = [read_video(layout.video_file(method, "d", it.caption, 0)) for it in tiny_items[:3]]
    for alone, batched in zip(videos[1], videos[3], strict=True):
        # each video's noise is its own seed's; batching moves floats only (H.264 of the same frames)
        assert np.abs(alone.astype(int) - batched.astype(int)).mean() < 1.0
    assert not np.array_equal(videos[1][0], videos[1][1])  # different items stay different
    with pytest.raises(ValueError, match="batch_videos"):
        generate_method_videos(pipe, tiny_items[:1], [0], layout, "x", "d", sampling, 8, "f", batch_videos=0)


def test_prompts_must_be_unique_per_dataset():
    items = [Item(id=f"i{k}", image="x.png", caption="the same prompt", dataset="d") for k in range(2)]
    with pytest.raises(ValueError, match="unique prompts"):
        check_unique_prompts(items)
