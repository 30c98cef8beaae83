"""Sanity checks of the metric on real photographs (notebook ``02_vcd_sanity``).

The paper's requirement for VCD (Sec. 3.1): small when a frame differs from the
conditioning image by natural motion, large for unnatural changes of global or local
attributes. These functions measure exactly that on synthetic videos
(:mod:`vcd.synthetic`) built from the embedded photographs, and compare the design
choices the paper ablates (SWD vs L2, frequency vs feature space, amplitude vs phase).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import torch
from tqdm.auto import tqdm

from .metric import VideoConsistencyDistance
from .synthetic import APPEARANCE_DRIFTS, NATURAL_MOTIONS, make_video, pan

__all__ = [
    "family_of",
    "load_sanity_images",
    "distance_curves",
    "shift_sensitivity",
    "separation_summary",
    "sanity_metrics",
]


def load_sanity_images(ids: Sequence[str], manifest: Any) -> dict[str, torch.Tensor]:
    """The embedded photographs ``ids`` (of the manifest at ``manifest``) as float
    tensors; an unknown id or an unusable file is a clear error."""
    from .data import load_manifest, load_rgb, resolve_image
    from .frames import to_tensor

    _, items = load_manifest(manifest)
    by_id = {it.id: it for it in items}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise ValueError(f"sanity.images names unknown embedded ids {missing}; known: {sorted(by_id)}")
    images = {}
    for image_id in ids:
        rgb, report = load_rgb(resolve_image(by_id[image_id].image, manifest.parent), image_id)
        if rgb is None:
            raise ValueError(f"sanity image {image_id} is unusable: {report.reasons}")
        images[image_id] = to_tensor(rgb)
    return images


def family_of(kind: str) -> str:
    if kind in NATURAL_MOTIONS:
        return "natural motion"
    if kind in APPEARANCE_DRIFTS:
        return "appearance drift"
    raise ValueError(f"unknown synthetic video kind {kind!r}")


@torch.no_grad()
def distance_curves(
    metrics: Mapping[str, VideoConsistencyDistance],
    images: Mapping[str, torch.Tensor],
    kinds: Sequence[str],
    num_frames: int,
    size: tuple[int, int],
    strengths: Mapping[str, float] | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Distance of every frame i = 2..N to the first frame, for each (image, kind, metric).

    Returns one row per (metric, image, kind, frame) with the unweighted ``distance``,
    its terms (``amplitude``/``phase`` or ``feature``) and the Eq. 2 ``weighted`` value.
    ``content_swap`` fades into the next image of ``images`` (cyclically).
    """
    names = list(images)
    strengths = dict(strengths or {})
    rows = []
    jobs = [(n, k) for n in names for k in kinds]
    for image_id, kind in tqdm(jobs, desc="sanity videos", disable=not progress):
        kwargs = {}
        if kind in strengths:
            kwargs["strength"] = float(strengths[kind])
        if kind == "content_swap":
            kwargs["other"] = images[names[(names.index(image_id) + 1) % len(names)]]
        video = make_video(kind, images[image_id], num_frames, size, **kwargs)
        frames = video[1:].contiguous()
        for metric_name, metric in metrics.items():
            terms = metric.components(video[:1], frames)  # the first frame is encoded once
            distance = metric.combine(terms)
            index = torch.arange(2, num_frames + 1)
            weight = metric.weights(index, num_frames)
            for j, i in enumerate(index.tolist()):
                row = {
                    "metric": metric_name,
                    "image": image_id,
                    "kind": kind,
                    "family": family_of(kind),
                    "frame": i,
                    "distance": float(distance[j]),
                    "weighted": float(weight[j] * distance[j]),
                }
                row.update({name: float(value[j]) for name, value in terms.items()})
                rows.append(row)
    return pd.DataFrame(rows)


@torch.no_grad()
def shift_sensitivity(
    metrics: Mapping[str, VideoConsistencyDistance],
    images: Mapping[str, torch.Tensor],
    shifts: Sequence[float],
    size: tuple[int, int],
    progress: bool = True,
) -> pd.DataFrame:
    """Distance caused by a pure camera shift, relative to appearance drift.

    For each metric, ``relative`` = d(x, shift(x)) / mean over the drift kinds of
    d(x, drift(x)) at full strength, per image: values well below 1 mean the metric
    tolerates geometric motion of that size while still seeing appearance changes
    (the motivation for WD in frequency space, Sec. 3.1 / App. C.3). ``shifts`` are
    fractions of the image width. A frequency-space metric also reports its
    ``<name>:amplitude`` and ``<name>:phase`` terms separately (same forward pass).
    """
    names = list(images)
    rows = []
    for image_id, image in tqdm(images.items(), desc="shift sensitivity", disable=not progress):
        other = images[names[(names.index(image_id) + 1) % len(names)]]
        moved = torch.cat([pan(image, 2, size, strength=float(s))[1:] for s in shifts])
        drifted = torch.cat(
            [
                make_video(kind, image, 2, size, **({"other": other} if kind == "content_swap" else {}))[1:]
                for kind in APPEARANCE_DRIFTS
            ]
        )
        targets = torch.cat([moved, drifted])
        base = pan(image, 2, size, strength=0.0)[:1]  # one reference image, encoded once per metric
        for metric_name, metric in metrics.items():
            terms = metric.components(base, targets)
            cfg = metric.config
            variants = {metric_name: metric.combine(terms)}
            if cfg.space == "frequency" and cfg.amplitude_weight and cfg.phase_weight:
                variants[f"{metric_name}:amplitude"] = terms["amplitude"]
                variants[f"{metric_name}:phase"] = terms["phase"]
            for name, d in variants.items():
                reference = float(d[len(shifts) :].mean())
                for s, value in zip(shifts, d[: len(shifts)].tolist()):
                    rows.append(
                        {
                            "metric": name,
                            "image": image_id,
                            "shift": float(s),
                            "distance": value,
                            "reference": reference,
                            "relative": value / reference if reference > 0 else float("nan"),
                        }
                    )
    return pd.DataFrame(rows)


def separation_summary(curves: pd.DataFrame) -> dict[str, dict[str, float]]:
    """Per metric: mean unweighted distance of natural motion and of appearance drift,
    their ratio, and the AUC = P(a drift frame scores higher than a motion frame at the
    same frame index) -- 1.0 is perfect separation, 0.5 none."""
    summary: dict[str, dict[str, float]] = {}
    for metric_name, group in curves.groupby("metric", sort=False):
        natural = group[group.family == "natural motion"]
        drift = group[group.family == "appearance drift"]
        aucs, weights = [], []
        for frame, nat_f in natural.groupby("frame"):
            dri_f = drift[drift.frame == frame]
            if len(dri_f) == 0:
                continue
            a = dri_f.distance.to_numpy()[:, None]
            b = nat_f.distance.to_numpy()[None, :]
            aucs.append(float(((a > b) + 0.5 * (a == b)).mean()))
            weights.append(a.size * b.size)
        nat_mean, drift_mean = float(natural.distance.mean()), float(drift.distance.mean())
        summary[str(metric_name)] = {
            "natural_motion_mean": nat_mean,
            "appearance_drift_mean": drift_mean,
            "drift_to_motion_ratio": drift_mean / nat_mean if nat_mean > 0 else float("inf"),
            "auc_drift_above_motion": float(np.average(aucs, weights=weights)) if aucs else float("nan"),
        }
    return summary


def sanity_metrics(curves: pd.DataFrame, shifts: pd.DataFrame, metric: str = "paper") -> dict[str, Any]:
    """The comparable numbers of the sanity stage (its ``metrics.json``): how well
    ``metric`` separates appearance drift from natural motion, the amplitude term's
    share of it, and each variant's distance at the largest camera shift relative to
    appearance drift."""
    separation = separation_summary(curves)[metric]
    part = curves[curves.metric == metric]
    largest = float(shifts["shift"].max())
    relative = shifts[shifts["shift"] == largest].groupby("metric", sort=False)["relative"].mean()
    return {
        "separation": separation,
        "amplitude_share": float(part.amplitude.sum() / (part.amplitude.sum() + part.phase.sum())),
        "largest_shift": largest,
        "relative_distance_at_largest_shift": {str(k): float(v) for k, v in relative.items()},
    }
