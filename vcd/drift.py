"""Does a model drift from its conditioning image? The base model's drift check.

The failure the paper addresses (Fig. 1, top): generated frames start from the
conditioning image and drift away from it over time. :func:`drift_check` generates
videos for training and evaluation items and measures, per frame i, the unweighted
VCD to the first frame and SSIM (a measure with no learned weights) to the first
frame and to the conditioning image; :func:`drift_summary` condenses that into the
numbers the pretrain stage reports, with the fidelity measures of
:mod:`vcd.fidelity` per video (first-frame SSIM and colour, prompted direction, last
frame) for training and held-out images, and the gap between the two.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
import torch

from .columns import METRICS
from .data import Item
from .fidelity import score_fidelity
from .frames import load_image, to_tensor, to_uint8
from .metric import VideoConsistencyDistance
from .sampling import generate_video
from .settings import SamplingConfig
from .video_metrics import ssim

__all__ = ["FIDELITY_MEASURES", "per_frame_drift", "drift_check", "drift_summary"]


@torch.no_grad()
def per_frame_drift(
    videos: torch.Tensor,
    cond_images: torch.Tensor,
    metric: VideoConsistencyDistance,
    labels: Sequence[Mapping[str, object]] | None = None,
) -> pd.DataFrame:
    """Drift of every frame of videos [B, N, 3, H, W] in [0, 1]: unweighted VCD to the
    first frame, and SSIM to the first frame and to the conditioning image
    ``cond_images`` [B, 3, H, W].

    One row per (video, frame i = 2..N); ``labels[b]`` adds columns for video b.
    """
    batch, num_frames = videos.shape[:2]
    vcd_first = metric.per_frame(videos)  # [B, N-1]
    rows = []
    for b in range(batch):
        frames = videos[b, 1:].contiguous()
        first = videos[b, :1].expand_as(frames).contiguous()
        cond = cond_images[b : b + 1].to(frames.dtype).expand_as(frames).contiguous()
        ssim_first, ssim_cond = ssim(first, frames), ssim(cond, frames)
        for j in range(num_frames - 1):
            row = dict(labels[b]) if labels is not None else {"video": b}
            row.update(
                {
                    "frame": j + 2,
                    "vcd_to_first": float(vcd_first[b, j]),
                    "ssim_to_first": float(ssim_first[j]),
                    "ssim_to_cond": float(ssim_cond[j]),
                }
            )
            rows.append(row)
    return pd.DataFrame(rows)


@torch.no_grad()
def drift_check(
    pipe,
    splits: Mapping[str, Sequence[Item]],
    sampling: SamplingConfig,
    metric: VideoConsistencyDistance,
    seeds: Sequence[int],
    max_items: int,
    strips_per_split: int = 4,
) -> tuple[pd.DataFrame, list[tuple[str, torch.Tensor, torch.Tensor]], pd.DataFrame]:
    """Generate videos of up to ``max_items`` items of each split (``{"train": [...],
    "eval": [...]}``) for every seed and measure their drift (:func:`per_frame_drift`).

    Returns the per-frame table (columns ``split``, ``image``, ``seed``, ``frame`` and
    the measures), frame-strip rows ``(label, conditioning image, video)`` of the
    first ``strips_per_split`` items of each split at the first seed, and one row per
    video of :func:`vcd.fidelity.score_fidelity` (on the 8-bit frames, as a written
    video would hold them).
    """
    rows, strips, fidelity = [], [], []
    for part, items in splits.items():
        items = list(items)[:max_items]
        if not items:
            continue
        images = [load_image(it.image) for it in items]
        cond = torch.stack([to_tensor(im) for im in images])
        for seed in seeds:
            videos = generate_video(pipe, images, [it.caption for it in items], [seed] * len(items), sampling)
            labels = [{"split": part, "image": it.id, "seed": seed} for it in items]
            rows.append(per_frame_drift(videos, cond.to(videos.device), metric, labels))
            for label, item, image, video in zip(labels, items, images, videos, strict=True):
                fidelity.append({**label, **score_fidelity(to_uint8(video.cpu()), image, item.caption)})
            if seed == seeds[0]:
                strips += [
                    (f"{part}: {it.id}", c, v.cpu())
                    for it, c, v in list(zip(items, cond, videos, strict=True))[:strips_per_split]
                ]
    return pd.concat(rows, ignore_index=True), strips, pd.DataFrame(fidelity)


#: the per-video fidelity measures the summary reports (vcd/fidelity.py), from the catalogue
FIDELITY_MEASURES = tuple(name for name, info in METRICS.items() if info.family == "fidelity")


def drift_summary(drift: pd.DataFrame, fidelity: pd.DataFrame | None = None) -> dict[str, dict[str, Any]]:
    """Per split: VCD and SSIM to frame 1 at the second and the last frame, and the
    rank correlation of VCD with the frame index (drift rises over time when > 0);
    with ``fidelity`` (:func:`drift_check`'s third table) the mean of each fidelity
    measure per split and, under ``"gap"``, training minus held-out."""
    by_frame = drift.groupby(["split", "frame"])[["vcd_to_first", "ssim_to_first"]].mean()
    first, last = int(drift.frame.min()), int(drift.frame.max())
    summary = {}
    for split in dict.fromkeys(drift.split):
        part = drift[drift.split == split]
        summary[str(split)] = {
            f"vcd_to_first_at_frame_{first}": float(by_frame.loc[(split, first), "vcd_to_first"]),
            f"vcd_to_first_at_frame_{last}": float(by_frame.loc[(split, last), "vcd_to_first"]),
            f"ssim_to_first_at_frame_{first}": float(by_frame.loc[(split, first), "ssim_to_first"]),
            f"ssim_to_first_at_frame_{last}": float(by_frame.loc[(split, last), "ssim_to_first"]),
            "vcd_rank_correlation_with_frame": float(part[["frame", "vcd_to_first"]].corr("spearman").iloc[0, 1]),
        }
        if fidelity is not None and len(fidelity):
            videos = fidelity[fidelity.split == split]
            summary[str(split)].update({m: float(videos[m].mean()) for m in FIDELITY_MEASURES})
    if fidelity is not None and {"train", "eval"} <= set(summary):
        summary["gap"] = {m: summary["train"][m] - summary["eval"][m] for m in FIDELITY_MEASURES}
    return summary
