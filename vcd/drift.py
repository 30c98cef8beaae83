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

from collections.abc import Mapping, Sequence, Set
from dataclasses import replace
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

__all__ = [
    "FIDELITY_MEASURES",
    "PROBE_MOTIONS",
    "TESTBED_TARGETS",
    "per_frame_drift",
    "drift_check",
    "motion_probe",
    "drift_summary",
    "testbed_targets",
]


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
    max_items: int | None,
    strips_per_split: int = 4,
    drift_splits: Set[str] | None = None,
) -> tuple[pd.DataFrame, list[tuple[str, torch.Tensor, torch.Tensor]], pd.DataFrame]:
    """Generate videos of up to ``max_items`` (None: all) items of each split
    (``{"train": [...], "eval": [...]}``, any names) for every seed and measure their drift (:func:`per_frame_drift`).

    ``drift_splits`` limits the per-frame drift (VCD per frame, the costly part) to those
    splits (None: all); every split gets its fidelity row per video and its strips.

    Returns the per-frame table (columns ``split``, ``image``, ``seed``, ``frame`` and
    the measures), frame-strip rows ``(label, conditioning image, video)`` of the
    first ``strips_per_split`` items of each split at the first seed, and one row per
    video of :func:`vcd.fidelity.score_fidelity` (on the 8-bit frames, as a written
    video would hold them).
    """
    rows, strips, fidelity = [], [], []
    for part, items in splits.items():
        items = list(items)[:max_items] if max_items is not None else list(items)
        if not items:
            continue
        images = [load_image(it.image) for it in items]
        cond = torch.stack([to_tensor(im) for im in images])
        for seed in seeds:
            videos = generate_video(pipe, images, [it.caption for it in items], [seed] * len(items), sampling)
            labels = [{"split": part, "image": it.id, "seed": seed} for it in items]
            if drift_splits is None or part in drift_splits:
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

#: the camera moves of the motion probe (each names a direction :func:`vcd.fidelity.prompted_direction` knows)
PROBE_MOTIONS = ("camera pans left", "camera pans right", "camera tilts up", "camera tilts down")


def motion_probe(items: Sequence[Item], motions: Sequence[str] = PROBE_MOTIONS) -> list[Item]:
    """Every item once per camera move: its caption's first clause (the content; later
    clauses often name a motion of their own) followed by the move, as the toy's
    training captions are written. The ids are ``"<id>: <move>"``.

    Few evaluation captions name a direction, so whether a model moves as its prompt
    says is measured on these (the issue's target: the dominant flow direction matches
    in at least 70 % of videos).
    """
    return [
        replace(it, id=f"{it.id}: {motion}", caption=f"{it.caption.split(',')[0].strip()}, {motion}")
        for it in items
        for motion in motions
    ]


def drift_summary(drift: pd.DataFrame, fidelity: pd.DataFrame | None = None) -> dict[str, dict[str, Any]]:
    """Per split: VCD and SSIM to frame 1 at the second and the last frame, and the
    rank correlation of VCD with the frame index (drift rises over time when > 0);
    with ``fidelity`` (:func:`drift_check`'s third table) the mean of each fidelity
    measure per split and, under ``"gap"``, training minus held-out."""
    by_frame = drift.groupby(["split", "frame"])[["vcd_to_first", "ssim_to_first"]].mean()
    first, last = int(drift.frame.min()), int(drift.frame.max())
    summary: dict[str, dict[str, Any]] = {}
    # a split may have fidelity rows only (drift_check's drift_splits, e.g. the motion probe)
    splits = [*dict.fromkeys(drift.split), *(dict.fromkeys(fidelity.split) if fidelity is not None else ())]
    for split in dict.fromkeys(splits):
        part = drift[drift.split == split]
        summary[str(split)] = (
            {
                f"vcd_to_first_at_frame_{first}": float(by_frame.loc[(split, first), "vcd_to_first"]),
                f"vcd_to_first_at_frame_{last}": float(by_frame.loc[(split, last), "vcd_to_first"]),
                f"ssim_to_first_at_frame_{first}": float(by_frame.loc[(split, first), "ssim_to_first"]),
                f"ssim_to_first_at_frame_{last}": float(by_frame.loc[(split, last), "ssim_to_first"]),
                "vcd_rank_correlation_with_frame": float(part[["frame", "vcd_to_first"]].corr("spearman").iloc[0, 1]),
            }
            if len(part)
            else {}
        )
        if fidelity is not None and len(fidelity):
            videos = fidelity[fidelity.split == split]
            summary[str(split)].update({m: float(videos[m].mean()) for m in FIDELITY_MEASURES})
    if fidelity is not None and {"train", "eval"} <= set(summary):
        summary["gap"] = {m: summary["train"][m] - summary["eval"][m] for m in FIDELITY_MEASURES}
    return summary


#: the toy testbed's targets: (label, split, measure, "min" | "max", threshold). A base
#: model that meets them is an image-to-video model worth fine-tuning: frame 1 copies
#: held-out images (SSIM, colour), the motion follows the prompt (on the motion probe),
#: later frames drift visibly but not totally, and held-out images are not much worse
#: than training ones.
TESTBED_TARGETS: tuple[tuple[str, str, str, str, float], ...] = (
    ("frame 1 copies the held-out image", "eval", "ssim_frame1_to_cond", "min", 0.8),
    ("frame 1 keeps its colours (grey stays grey)", "eval", "chroma_error_frame1", "max", 5.0),
    ("the motion goes where the prompt says", "motion", "flow_follows_prompt", "min", 0.7),
    ("VCD to frame 1 rises with the frame index", "eval", "vcd_rank_correlation_with_frame", "min", 0.3),
    ("visible drift: SSIM to the image falls by the last frame", "eval", "ssim_drop_to_last", "min", 0.1),
    ("not a total loss: the last frame keeps some of the image", "eval", "ssim_last_to_cond", "min", 0.2),
    ("held-out images about as good as training ones (SSIM gap)", "gap", "ssim_frame1_to_cond", "max", 0.1),
)


def testbed_targets(summary: Mapping[str, Mapping[str, float]]) -> pd.DataFrame:
    """:data:`TESTBED_TARGETS` checked against a :func:`drift_summary` (with fidelity and
    the ``motion`` split of :func:`motion_probe`): one row per target with its value and
    whether it is met. A split the summary lacks gives a NaN value, not met."""
    rows = []
    for label, split, measure, kind, threshold in TESTBED_TARGETS:
        values = dict(summary.get(split, {}))
        if "ssim_frame1_to_cond" in values and "ssim_last_to_cond" in values:
            values["ssim_drop_to_last"] = values["ssim_frame1_to_cond"] - values["ssim_last_to_cond"]
        value = float(values.get(measure, float("nan")))
        met = value >= threshold if kind == "min" else value <= threshold
        rows.append(
            {
                "target": label,
                "split": split,
                "measure": measure,
                "wanted": f"{'>=' if kind == 'min' else '<='} {threshold:g}",
                "value": value,
                "met": bool(met),
            }
        )
    return pd.DataFrame(rows)
