"""Figures and tables. Every figure carries a footer naming the profile and weights
that produced it, so embedded-default results are never mistaken for the paper's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Mapping, Sequence

import matplotlib

matplotlib.use("Agg")  # headless: the pipeline runs without a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
import pandas as pd  # noqa: E402

__all__ = [
    "profile_label",
    "save_figure",
    "write_json",
    "plot_distance_curves",
    "plot_components",
    "plot_shift_sensitivity",
    "plot_temporal_weight",
]

_FAMILY_COLOURS = {"natural motion": "Blues", "appearance drift": "Reds"}


def profile_label(params: Mapping[str, Any], encoder: Mapping[str, str] | None = None) -> str:
    """One-line description of where numbers come from, for figure footers and tables."""
    profile = params.get("profile", "default")
    if profile == "default":
        text = "Embedded default profile (toy setup on CPU, real photographs) - not the paper's numbers"
    else:
        text = f"Profile: {profile}"
    if encoder:
        weights = encoder.get("encoder_weights", "?")
        if weights == "random":
            text += "; VGG19 weights: seeded random init (offline stand-in for ImageNet weights)"
        else:
            text += f"; VGG19 weights: {weights}"
    return text


def save_figure(fig: plt.Figure, path: str | Path, footer: str | None = None) -> Path:
    """Save as PNG (150 dpi) with an optional provenance footer."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if footer:
        fig.text(0.01, 0.005, footer, fontsize=7, color="0.35", ha="left", va="bottom")
    fig.savefig(path, dpi=150, bbox_inches="tight")
    return path


def write_json(path: str | Path, payload: Mapping[str, Any]) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False, default=float) + "\n", encoding="utf-8")
    return path


def _kind_colours(curves: pd.DataFrame) -> dict[str, Any]:
    colours: dict[str, Any] = {}
    for family, cmap_name in _FAMILY_COLOURS.items():
        kinds = list(dict.fromkeys(curves.loc[curves.family == family, "kind"]))
        cmap = plt.get_cmap(cmap_name)
        for j, kind in enumerate(kinds):
            colours[kind] = cmap(0.55 + 0.4 * j / max(1, len(kinds) - 1))
    return colours


def plot_distance_curves(curves: pd.DataFrame, metric: str, value: str = "distance", title: str | None = None) -> plt.Figure:
    """VCD of frame i to frame 1 against i, one line per synthetic video kind (mean over
    images, band = min..max), natural motion in blue, appearance drift in red."""
    data = curves[curves.metric == metric]
    colours = _kind_colours(data)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for (family, kind), group in data.groupby(["family", "kind"], sort=False):
        stats = group.groupby("frame")[value].agg(["mean", "min", "max"])
        style = "-" if family == "natural motion" else "--"
        ax.plot(stats.index, stats["mean"], style, marker="o", ms=3, color=colours[kind], label=f"{kind} ({family})")
        ax.fill_between(stats.index, stats["min"], stats["max"], color=colours[kind], alpha=0.12)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("frame index i (frame 1 = conditioning image)")
    ax.set_ylabel("VCD, unweighted" if value == "distance" else "VCD with temporal weight (Eq. 2)")
    ax.set_title(title or f"VCD to the conditioning frame: natural motion vs appearance drift ({metric})")
    ax.legend(fontsize=7, ncol=2, frameon=False)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_components(curves: pd.DataFrame, metric: str) -> plt.Figure:
    """Amplitude and phase terms at the last frame, per kind (mean over images)."""
    data = curves[curves.metric == metric]
    last = data[data.frame == data.frame.max()]
    means = last.groupby(["family", "kind"], sort=False)[["amplitude", "phase"]].mean().reset_index()
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    x = np.arange(len(means))
    ax.bar(x - 0.2, means.amplitude, width=0.4, label="amplitude term WD(A, A')", color="#c44e52")
    ax.bar(x + 0.2, means.phase, width=0.4, label="phase term WD(P, P')", color="#4c72b0")
    ax.set_xticks(x, [f"{k}\n({'motion' if f == 'natural motion' else 'drift'})" for f, k in zip(means.family, means.kind)], fontsize=8)
    ax.set_ylabel("distance at the last frame")
    ax.set_title(f"Amplitude vs phase contributions ({metric}, summed over layers)")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def plot_shift_sensitivity(shifts: pd.DataFrame) -> plt.Figure:
    """Distance under a pure camera shift relative to the mean appearance drift."""
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for metric, group in shifts.groupby("metric", sort=False):
        stats = group.groupby("shift")["relative"].mean()
        style = ":" if ":" in str(metric) else "-"
        ax.plot(stats.index * 100, stats.values, style, marker="o", ms=4, label=metric)
    ax.axhline(1.0, color="0.3", lw=0.8, ls=":")
    ax.set_xlabel("camera shift (% of image width)")
    ax.set_ylabel("d(x, shifted x) / mean d(x, drifted x)")
    ax.set_title("Tolerance to geometric motion: SWD vs L2, frequency vs feature space")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_temporal_weight(frame_counts: Sequence[int], curves: pd.DataFrame | None = None, metric: str | None = None) -> plt.Figure:
    """The temporal weight (N - i + 1) / N of Eq. 2, and its effect on a drift curve."""
    ncols = 2 if curves is not None else 1
    fig, axes = plt.subplots(1, ncols, figsize=(4.2 * ncols, 3.4), squeeze=False)
    ax = axes[0, 0]
    for n in frame_counts:
        i = np.arange(1, n + 1)
        ax.plot(i, (n - i + 1) / n, marker=".", label=f"N = {n}")
    ax.set_xlabel("frame index i")
    ax.set_ylabel("(N - i + 1) / N")
    ax.set_title("Temporal weight of Eq. 2")
    ax.legend(frameon=False, fontsize=8)
    ax.grid(alpha=0.3)
    if curves is not None:
        ax = axes[0, 1]
        data = curves[curves.metric == metric] if metric else curves
        for family, group in data.groupby("family", sort=False):
            stats = group.groupby("frame")[["distance", "weighted"]].mean()
            colour = "#4c72b0" if family == "natural motion" else "#c44e52"
            ax.plot(stats.index, stats.distance, color=colour, ls=":", label=f"{family}, unweighted")
            ax.plot(stats.index, stats.weighted, color=colour, label=f"{family}, weighted")
        ax.set_xlabel("frame index i")
        ax.set_ylabel("VCD")
        ax.set_title("Weighting: late frames may move more")
        ax.legend(frameon=False, fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig
