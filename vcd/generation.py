"""Generating a method's evaluation videos (Sec. 4.1: five seeds per image and prompt).

Videos are written as H.264 MP4 with VBench's naming ``{prompt}-{seed}.mp4`` into the
layout's ``results/videos/<method>/<dataset>/``, next to the conditioning images they
were made from. A folder records the fingerprint of what made its videos (model, LoRA,
settings): a re-run reuses the complete videos of a matching folder and regenerates
everything in a stale one.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Sequence

import numpy as np
from PIL import Image
from tqdm.auto import tqdm

from .data import Item
from .files import atomic_path, write_json
from .frames import load_image, to_uint8
from .layout import Layout
from .settings import FrameInitConfig, SamplingConfig
from .sharding import Shard, wait_for_all

__all__ = ["check_unique_prompts", "generate_method_videos", "sampling_seconds_per_video"]


def check_unique_prompts(items: Sequence[Item]) -> None:
    """VBench's naming identifies a video by its prompt: prompts must be unique per dataset."""
    prompts = [it.caption for it in items]
    duplicates = sorted({p for p in prompts if prompts.count(p) > 1})
    if duplicates:
        raise ValueError(f"VBench's naming needs unique prompts per dataset; duplicated: {duplicates[:3]}")


def generate_method_videos(
    pipe,
    items: Sequence[Item],
    seeds: Sequence[int],
    layout: Layout,
    method: str,
    dataset: str,
    sampling: SamplingConfig,
    fps: int,
    fingerprint: str,
    progress: bool = True,
    shard: Shard | None = None,
    batch_videos: int = 1,
    frame_init: FrameInitConfig | None = None,
) -> dict[str, int]:
    """Generate one video per (item, seed) of ``method`` on ``dataset``, plus each
    item's conditioning image. Videos already written and complete (right frame count
    and size) are skipped, so an interrupted run picks up where it stopped -- but only
    if ``fingerprint`` (a digest of everything that shapes the videos) matches the one
    recorded with them; otherwise the folder's videos are stale and deleted first.
    With a ``shard`` of several processes, each generates the videos of its share of the
    items; the main one checks the folder's fingerprint first, the others wait for it.

    Videos are sampled in batches of whole items, gathered in order until a batch has at
    least ``batch_videos`` videos: a method with one seed per item (a trade-off snapshot)
    would otherwise sample each video alone, which on the CPU runs PyTorch's slow
    batch-of-one convolution kernels (README, Performance). Each video's noise comes from
    its own seed's generator whatever batch it is in. With ``frame_init``, the initial
    noise is ConsistI2V's FrameInit (:func:`vcd.frameinit.generate_video_frameinit`).
    Returns the counts of generated and skipped videos."""
    from .frameinit import generate_video_frameinit
    from .sampling import generate_video
    from .video_io import video_is_complete, write_video

    if batch_videos < 1:
        raise ValueError(f"batch_videos must be at least 1, got {batch_videos}")
    shard = shard or Shard()
    check_unique_prompts(items)
    out_dir, stamp = layout.method_videos(method, dataset), layout.generation_stamp(method, dataset)
    if shard.is_main:
        recorded = json.loads(stamp.read_text()) if stamp.is_file() else {}
        stale = recorded.get("fingerprint") != fingerprint
        if out_dir.exists() and stale:
            shutil.rmtree(out_dir)
        write_json(stamp, {"fingerprint": fingerprint, **({} if stale else _timing(recorded))})
    wait_for_all(shard)  # no process writes into a folder that is about to be removed
    items = shard.take(items)
    size = (sampling.width, sampling.height)
    counts = {"generated": 0, "skipped": 0}
    batches: list[list[tuple[Item, np.ndarray, int]]] = [[]]  # (item, image, seed) per video
    for item in items:
        image = load_image(item.image)
        with atomic_path(layout.conditioning_image(method, dataset, item.caption)) as tmp:
            Image.fromarray(image).save(tmp)
        todo = [
            s
            for s in seeds
            if not video_is_complete(layout.video_file(method, dataset, item.caption, s), sampling.num_frames, size)
        ]
        counts["skipped"] += len(seeds) - len(todo)
        if len(batches[-1]) >= batch_videos:
            batches.append([])
        batches[-1] += [(item, image, s) for s in todo]
    label = f"generating {method}/{dataset}" + (f" [{shard}]" if shard.count > 1 else "")
    start = time.perf_counter()
    with tqdm(total=sum(map(len, batches)), desc=label, unit="video", disable=not progress) as bar:
        for batch in (b for b in batches if b):
            items_, images, batch_seeds = zip(*batch, strict=True)
            prompts = [it.caption for it in items_]
            if frame_init is None:
                videos = generate_video(pipe, list(images), prompts, list(batch_seeds), sampling)
            else:
                videos = generate_video_frameinit(pipe, list(images), prompts, list(batch_seeds), sampling, frame_init)
            for item, seed, frames in zip(items_, batch_seeds, videos, strict=True):
                write_video(layout.video_file(method, dataset, item.caption, seed), to_uint8(frames), fps=fps)
                counts["generated"] += 1
            bar.update(len(batch))
    seconds = time.perf_counter() - start
    if counts["generated"] and shard.count == 1:  # the cost table's sampling time (the report)
        recorded = _timing(json.loads(stamp.read_text()))
        write_json(
            stamp,
            {
                "fingerprint": fingerprint,
                "sampling_seconds": recorded.get("sampling_seconds", 0.0) + seconds,
                "videos_timed": recorded.get("videos_timed", 0) + counts["generated"],
            },
        )
    return counts


def _timing(stamp: dict) -> dict:
    """The sampling time a generation stamp has accumulated (every video it made, over
    the runs that reused the folder)."""
    return {k: stamp[k] for k in ("sampling_seconds", "videos_timed") if k in stamp}


def sampling_seconds_per_video(layout: Layout, method: str, dataset: str) -> float:
    """Measured wall time per video of a method's generated videos (NaN if none was timed),
    from its folder's generation stamp: the cost table's sampling column."""
    stamp = layout.generation_stamp(method, dataset)
    timing = _timing(json.loads(stamp.read_text())) if stamp.is_file() else {}
    return timing["sampling_seconds"] / timing["videos_timed"] if timing.get("videos_timed") else float("nan")
