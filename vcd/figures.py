"""Figures of the pipeline, each saved with a footer naming the profile and weights.

Every figure the notebooks show and the README embeds is drawn here, so a notebook
cell is one call; :func:`save_figure` writes it atomically with the provenance footer
(:func:`vcd.provenance.profile_label`), so embedded-default results are never mistaken
for the paper's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # headless: the pipeline runs without a display
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .columns import metric_info  # noqa: E402
from .files import atomic_path  # noqa: E402
from .methods import method_label  # noqa: E402

__all__ = [
    "save_figure",
    "plot_split_images",
    "plot_synthetic_videos",
    "plot_distance_curves",
    "plot_components",
    "plot_shift_sensitivity",
    "plot_temporal_weight",
    "plot_training_log",
    "plot_frame_strips",
    "plot_drift",
    "plot_finetune_curves",
    "plot_metric_bars",
    "plot_vcd_by_frame",
    "plot_tradeoff",
    "frame_strips_by_method",
    "plot_human_votes",
    "plot_reward_models",
    "plot_best_of_n",
]

_FAMILY_COLOURS = {"natural motion": "Blues", "appearance drift": "Reds"}


def save_figure(fig: plt.Figure, path: str | Path, footer: str | None = None, dpi: int = 150) -> Path:
    """Save as PNG (atomically) with an optional provenance footer."""
    path = Path(path)
    if footer:
        fig.text(0.01, 0.005, footer, fontsize=7, color="0.35", ha="left", va="bottom")
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=dpi, bbox_inches="tight")
    return path


def plot_split_images(items: Sequence[tuple[str, Any]], title: str, limit: int = 24, columns: int = 4) -> plt.Figure:
    """The prepared conditioning images of a split, ``items`` = [(part, Item)], with
    their ids and (shortened) captions."""
    from .frames import load_image

    shown = list(items)[:limit]
    rows = max(1, (len(shown) + columns - 1) // columns)
    fig, axes = plt.subplots(rows, columns, figsize=(3.2 * columns, 2.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (part, item) in zip(axes.flat, shown):
        ax.imshow(load_image(item.image))
        caption = item.caption if len(item.caption) < 70 else item.caption[:67] + "..."
        ax.set_title(f"[{part}] {item.id}\n{caption}", fontsize=6.5, wrap=True)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_synthetic_videos(
    images: Mapping[str, Any], kinds: Sequence[str], num_frames: int, size: tuple[int, int]
) -> plt.Figure:
    """One row per synthetic video kind (:mod:`vcd.synthetic`) made from the first of
    ``images``, one column per frame; ``content_swap`` fades into the second image."""
    from .synthetic import make_video

    first = next(iter(images.values()))
    others = list(images.values())
    fig, axes = plt.subplots(len(kinds), num_frames, figsize=(1.9 * num_frames, 1.45 * len(kinds)), squeeze=False)
    for row, kind in enumerate(kinds):
        extra = {"other": others[1 % len(others)]} if kind == "content_swap" else {}
        video = make_video(kind, first, num_frames, size, **extra)
        for col in range(num_frames):
            ax = axes[row, col]
            ax.imshow(video[col].permute(1, 2, 0).numpy())
            ax.set_xticks([])
            ax.set_yticks([])
            if col == 0:
                ax.set_ylabel(kind, fontsize=8)
            if row == 0:
                ax.set_title(f"frame {col + 1}", fontsize=8)
    fig.suptitle("Synthetic videos: natural motion (pan, zoom, moving object) and appearance drift", fontsize=10)
    fig.tight_layout()
    return fig


def _kind_colours(curves: pd.DataFrame) -> dict[str, Any]:
    colours: dict[str, Any] = {}
    for family, cmap_name in _FAMILY_COLOURS.items():
        kinds = list(dict.fromkeys(curves.loc[curves.family == family, "kind"]))
        cmap = plt.get_cmap(cmap_name)
        for j, kind in enumerate(kinds):
            colours[kind] = cmap(0.55 + 0.4 * j / max(1, len(kinds) - 1))
    return colours


def plot_distance_curves(
    curves: pd.DataFrame, metric: str, value: str = "distance", title: str | None = None
) -> plt.Figure:
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
    ax.set_xticks(
        x,
        [f"{k}\n({'motion' if f == 'natural motion' else 'drift'})" for f, k in zip(means.family, means.kind)],
        fontsize=8,
    )
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


def plot_temporal_weight(
    frame_counts: Sequence[int], curves: pd.DataFrame | None = None, metric: str | None = None
) -> plt.Figure:
    """The temporal weight (N - i + 1) / N of Eq. 2, and its effect on a drift curve."""
    ncols = 2 if curves is not None else 1
    fig, axes = plt.subplots(1, ncols, figsize=(4.2 * ncols, 3.4), squeeze=False)
    ax = axes[0, 0]
    from .metric import temporal_weight

    for n in frame_counts:
        i = np.arange(1, n + 1)
        ax.plot(i, temporal_weight(i, n).numpy(), marker=".", label=f"N = {n}")
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


def plot_training_log(
    log: pd.DataFrame,
    x: str = "step",
    y: str = "loss",
    hue: str = "phase",
    title: str = "Training loss",
    smooth: int = 20,
) -> plt.Figure:
    """Loss curves (raw, faint) with a moving average, one panel per ``hue`` value."""
    groups = list(log.groupby(hue, sort=False)) if hue in log else [("", log)]
    fig, axes = plt.subplots(1, len(groups), figsize=(4.4 * len(groups), 3.2), squeeze=False)
    for ax, (name, group) in zip(axes[0], groups):
        ax.plot(group[x], group[y], color="0.75", lw=0.8, label="per step")
        ax.plot(
            group[x],
            group[y].rolling(smooth, min_periods=1).mean(),
            color="#c44e52",
            lw=1.6,
            label=f"moving mean ({smooth})",
        )
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.set_title(f"{title}: {name}" if name != "" else title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def plot_frame_strips(
    rows: Sequence[tuple[str, Any, Any]], frames: Sequence[int] | None = None, title: str = ""
) -> plt.Figure:
    """One row per video: the conditioning image, then the video's frames.

    ``rows`` = [(label, conditioning image [3, H, W] or None, video [N, 3, H, W])], all in
    [0, 1]; ``frames`` (0-based) selects which frames to show.
    """
    n = max(v.shape[0] for _, _, v in rows)
    columns = list(frames) if frames is not None else list(range(n))
    with_cond = any(c is not None for _, c, _ in rows)
    ncols = len(columns) + int(with_cond)
    fig, axes = plt.subplots(len(rows), ncols, figsize=(1.45 * ncols, 1.12 * len(rows) + 0.45), squeeze=False)
    for r, (label, cond, video) in enumerate(rows):
        panels = ([("conditioning", cond)] if with_cond else []) + [
            (f"frame {f + 1}", video[f] if f < video.shape[0] else None) for f in columns
        ]
        for c, (name, image) in enumerate(panels):
            ax = axes[r, c]
            ax.set_xticks([])
            ax.set_yticks([])
            if image is None:
                for spine in ax.spines.values():
                    spine.set_visible(False)
            else:
                ax.imshow(image.permute(1, 2, 0).clamp(0, 1).cpu().numpy())
            if c == 0:
                ax.set_ylabel(label, fontsize=6.5, rotation=0, ha="right", va="center")
            if r == 0:
                ax.set_title(name, fontsize=7)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


def plot_drift(drift: pd.DataFrame, hue: str, metrics: Sequence[tuple[str, str]], title: str = "") -> plt.Figure:
    """Mean (95% CI band over videos) of per-frame drift measures against the frame
    index, one panel per (column, axis label) in ``metrics``, one line per ``hue``."""
    import seaborn as sns

    fig, axes = plt.subplots(1, len(metrics), figsize=(4.3 * len(metrics), 3.3), squeeze=False)
    for ax, (column, label) in zip(axes[0], metrics):
        sns.lineplot(data=drift, x="frame", y=column, hue=hue, errorbar=("ci", 95), seed=0, marker="o", ms=4, ax=ax)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("frame index i")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, frameon=False, title=None)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_finetune_curves(
    runs: Mapping[str, tuple[pd.DataFrame, pd.DataFrame]], label: str, smooth: int = 6
) -> plt.Figure:
    """Fine-tuning of one reward: per-step objective (moving mean, the raw steps faint)
    and probe-set VCD, one colour per run (``runs``: run label -> (train log, probe log))."""
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.3))
    colours = plt.get_cmap("tab10")
    for k, (name, (log, val)) in enumerate(runs.items()):
        colour = colours(k % 10)
        axes[0].plot(log.step, log.loss, color=colour, alpha=0.25, lw=0.8, marker=".", ms=2)
        axes[0].plot(log.step, log.loss.rolling(smooth, min_periods=1).mean(), color=colour, lw=1.8, label=name)
        if len(val):
            axes[1].plot(val.step, val.val_vcd, marker="o", color=colour, label=name)
    ax = axes[0]
    ax.set_xlabel("optimizer step")
    ax.set_ylabel(f"minimised objective\n(dots: per step; line: mean of {smooth})")
    ax.set_title(f"{label}: training objective", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=7)
    ax = axes[1]
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("VCD (Eq. 2, mean over i), probe set")
    ax.set_title("VCD of a fixed probe set", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_metric_bars(summary: pd.DataFrame, methods: Sequence[str], metrics: Sequence[str], dataset: str) -> plt.Figure:
    """Fig. 6 style: one panel per metric, a bar per method (mean over runs) with the
    95 % CI as error bar and the value printed in the bar."""
    data = summary[summary.dataset == dataset]
    ncols = 3
    nrows = (len(metrics) + ncols - 1) // ncols
    fig, axes = plt.subplots(nrows, ncols, figsize=(4.3 * ncols, 2.9 * nrows), squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax, metric in zip(axes.flat, metrics):
        rows = [data[(data.method == m) & (data.metric == metric)] for m in methods]
        means = np.array([float(r["mean"].iloc[0]) if len(r) else np.nan for r in rows])
        lows = np.array([float(r.ci95_low.iloc[0]) if len(r) else np.nan for r in rows])
        highs = np.array([float(r.ci95_high.iloc[0]) if len(r) else np.nan for r in rows])
        x = np.arange(len(methods))
        err = np.vstack([means - lows, highs - means])
        ax.bar(x, means, yerr=np.nan_to_num(err), capsize=3, color=[colours(i) for i in range(len(methods))])
        finite = np.isfinite(lows) & np.isfinite(highs)
        span = np.nanmax(highs[finite]) - np.nanmin(lows[finite]) if finite.any() else 0.0
        if span > 1e-9 * max(1.0, float(np.nanmax(np.abs(means)))):
            ax.set_ylim(np.nanmin(lows[finite]) - 0.6 * span, np.nanmax(highs[finite]) + 0.3 * span)
        else:  # all equal (e.g. a saturated rate): show from zero
            ax.set_ylim(0, max(1e-9, float(np.nanmax(means))) * 1.15)
        for xi, m in zip(x, means):
            if np.isfinite(m):
                ax.text(
                    xi, ax.get_ylim()[0], f"{m:.3f}", ha="center", va="bottom", fontsize=6.5, rotation=90, color="white"
                )
        ax.set_xticks(
            x,
            [method_label(m).replace(" (stand-in for +V-JEPA)", "\n(stand-in\nfor +V-JEPA)") for m in methods],
            rotation=35,
            ha="right",
            fontsize=6.5,
        )
        ax.set_title(metric_info(metric).heading, fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(metrics) :]:
        ax.axis("off")
    runs = int(data.n_runs.max()) if len(data) else 0
    fig.suptitle(f"Evaluation on {dataset}: mean of {runs} runs (one per seed) with 95% CI", fontsize=10)
    fig.tight_layout()
    return fig


def plot_vcd_by_frame(per_frame: pd.DataFrame, methods: Sequence[str], which: str = "") -> plt.Figure:
    """Unweighted VCD of frame i to frame 1 against i, one line per method (95 % CI over videos)."""
    import seaborn as sns

    data = per_frame[per_frame.method.isin(methods)].copy()
    data["method"] = data.method.map(method_label)
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    sns.lineplot(
        data=data, x="frame", y="vcd_unweighted", hue="method", errorbar=("ci", 95), seed=0, marker="o", ms=4, ax=ax
    )
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("frame index i")
    ax.set_ylabel("VCD to frame 1 (unweighted)")
    ax.set_title(
        "Drift over the frames, per method (mean, 95% CI over videos" + (f"; {which})" if which else ")"), fontsize=10
    )
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def plot_tradeoff(
    points: pd.DataFrame,
    consistency: str,
    motions: Sequence[str],
    title: str,
    end_points: pd.DataFrame | None = None,
) -> plt.Figure:
    """The consistency-motion trade-off (:mod:`vcd.tradeoff`): one panel per motion
    metric, consistency to the conditioning image on x; one colour per reward, one path
    per fine-tuning run from the base model (black star, step 0) through its snapshots
    (small dots) to its last step (large dot). ``end_points``
    (:func:`vcd.tradeoff.end_points`): the methods without a path, one black-edged marker
    per method run, a shape and colour of its own per method. The legend goes below
    the panels, with as much room as its rows need."""
    rewards = list(dict.fromkeys(points.reward))
    pathless = [] if end_points is None else list(dict.fromkeys(end_points.method))
    entries = len(rewards) + len(pathless) + 1  # + the base model
    legend_columns = 4
    legend_rows = -(-entries // legend_columns)
    height = 4.2 + 0.2 * legend_rows  # room for the legend below the panels, off their axis labels
    fig, axes = plt.subplots(1, len(motions), figsize=(5.0 * len(motions), height), squeeze=False)
    # rewards are circles in tab10 (at most 10 rewards keep distinct colours); the pathless
    # methods are black-edged shapes of their own, in Dark2, so that no two legend entries
    # look alike even where a hue repeats
    reward_colours = plt.get_cmap("tab10")
    pathless_colours = plt.get_cmap("Dark2")
    pathless_markers = ("D", "s", "P", "X", "^", "v", "p", "h")
    scale_x = 100.0 if metric_info(consistency).percent else 1.0
    for ax, motion in zip(axes.flat, motions):
        scale_y = 100.0 if metric_info(motion).percent else 1.0
        for k, reward in enumerate(rewards):
            colour = reward_colours(k % 10)
            for n, (_, path) in enumerate(points[points.reward == reward].groupby("run", sort=True)):
                path = path.sort_values("step")
                x, y = path[consistency].to_numpy() * scale_x, path[motion].to_numpy() * scale_y
                ax.plot(x, y, color=colour, lw=1.2, alpha=0.75, marker=".", ms=5)
                ax.plot(
                    x[-1:],
                    y[-1:],
                    color=colour,
                    marker="o",
                    ms=7,
                    ls="none",
                    label=method_label(reward) if n == 0 else None,
                )
        for k, method in enumerate(pathless):
            runs = end_points[end_points.method == method]
            ax.plot(
                runs[consistency].to_numpy() * scale_x,
                runs[motion].to_numpy() * scale_y,
                color=pathless_colours(k % 8),
                marker=pathless_markers[k % len(pathless_markers)],
                ms=7.5,
                mec="black",
                mew=0.7,
                ls="none",
                label=f"{method_label(method)} (no path)",
                zorder=4,
            )
        base = points[points.step == 0].iloc[:1]
        ax.plot(base[consistency] * scale_x, base[motion] * scale_y, "k*", ms=13, label="base model (step 0)", zorder=5)
        ax.set_xlabel(metric_info(consistency).heading)
        ax.set_ylabel(metric_info(motion).heading)
        ax.grid(alpha=0.3)
    steps = sorted(int(s) for s in set(points.step))
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.suptitle(f"{title}: each line is one fine-tuning run, through steps {steps}", fontsize=10)
    legend_top = (0.3 + 0.2 * legend_rows) / height  # figure fraction: the legend rows plus the footer line
    fig.tight_layout(rect=(0, legend_top, 1, 1))
    fig.legend(
        handles,
        labels,
        loc="upper center",
        bbox_to_anchor=(0.5, legend_top),
        ncol=legend_columns,
        fontsize=7.5,
        frameon=False,
    )
    return fig


def frame_strips_by_method(
    layout: Any, methods: Sequence[str], dataset: str, per_video: pd.DataFrame, images: Sequence[str] | int, seed: int
) -> plt.Figure:
    """Fig. 14 style: for the same image and seed, the conditioning image and the frames
    of each method's video (read back from the MP4s of the layout). ``images``: image
    ids to show (those present in the dataset), or a count of the first ones."""
    from .frames import load_image, to_tensor, video_to_tensor
    from .video_io import VideoReadError, read_video

    rows = []
    data = per_video[per_video.dataset == dataset]
    if isinstance(images, int):
        prompts = list(dict.fromkeys(data.prompt))[:images]
    else:
        missing = [i for i in images if i not in set(data.image_id)]
        if missing:  # never a silent substitute: the figure would show other images than asked
            raise ValueError(
                f"report.strip_images names {missing}, which are not evaluation items of {dataset} "
                f"(they are {sorted(set(data.image_id))}); name some of those, or give a count"
            )
        prompts = list(dict.fromkeys(data[data.image_id.isin(list(images))].prompt))
    for prompt in prompts:
        cond = to_tensor(load_image(layout.conditioning_image(methods[0], dataset, prompt)))
        for k, method in enumerate(methods):
            try:
                frames = read_video(layout.video_file(method, dataset, prompt, seed))
            except VideoReadError:
                continue
            short = prompt if len(prompt) < 28 else prompt[:25] + "..."
            label = f"{method_label(method)}\n{short}" if k == 0 else method_label(method)
            rows.append((label, cond if k == 0 else None, video_to_tensor(frames)))
    return plot_frame_strips(rows, title=f"Same image and seed ({seed}) across methods ({dataset})")


def _short_label(method: str) -> str:
    """A method's label with a shorter stand-in note."""
    return method_label(method).replace(" for +V-JEPA", "")


def plot_human_votes(table: pd.DataFrame, significance: pd.DataFrame, title: str) -> plt.Figure:
    """Fig. 8: per dataset, for each question one stacked bar per pair -- the share of
    votes for the first method, ties, and the second method -- with the paper's marks
    (``***`` p < 0.001, ``**`` p < 0.005, its t-test over votes) and, in brackets, the
    rater-level test's p-value. ``table`` is :func:`vcd.human_analysis.table4`,
    ``significance`` :func:`vcd.human_analysis.significance` (its ``paper_marks``)."""
    datasets = list(dict.fromkeys(table.columns.get_level_values(0)))
    questions = list(dict.fromkeys(table.columns.get_level_values(1)))
    pairs = list(dict.fromkeys(table.index.get_level_values(0)))
    colours = ("#c9773b", "#d5d5d5", "#3b75af")
    height = 0.55 * len(pairs) * len(questions) + 1.6
    fig, axes = plt.subplots(1, len(datasets), figsize=(6.2 * len(datasets), height), squeeze=False)
    for ax, dataset in zip(axes[0], datasets):
        labels, y = [], 0.0
        for question in questions:
            for pair in pairs:
                shares = table.loc[pair, (dataset, question)].to_numpy(float)
                left = 0.0
                for share, colour in zip(shares, colours):
                    ax.barh(y, share, left=left, color=colour, edgecolor="white", height=0.8)
                    if share >= 6:
                        ax.text(left + share / 2, y, f"{share:.0f}%", ha="center", va="center", fontsize=6.5)
                    left += share
                sig = significance
                row = sig[(sig.dataset == dataset) & (sig.question == question) & (sig.pair == pair)]
                if len(row):
                    note = f"{row.paper_marks.iloc[0]} (raters p={float(row.p_t_raters.iloc[0]):.2g})"
                    ax.text(101, y, note, va="center", fontsize=6.5)
                first, second = pair.split(" vs ")
                labels.append(f"{question.replace('_', ' ')}\n{_short_label(first)} vs {_short_label(second)}")
                y += 1
            y += 0.5
        ticks = [i + 0.5 * (i // len(pairs)) for i in range(len(labels))]
        ax.set_yticks(ticks, labels, fontsize=6.5)
        ax.invert_yaxis()
        ax.set_xlim(0, 130)
        ax.set_xticks([0, 25, 50, 75, 100])
        ax.set_xlabel("votes [%]")
        ax.set_title(dataset, fontsize=9)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in colours]
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.02, 1, 0.9))
    names = ["first method of the pair", "tie", "second method"]
    fig.legend(handles, names, loc="upper center", bbox_to_anchor=(0.5, 0.93), fontsize=7, ncol=3, frameon=False)
    return fig


_SCORER_NAMES = {"vcd": "VCD (untrained)", "mlp_reward": "MLP reward", "icreward": "ICReward-style"}


def plot_reward_models(log: pd.DataFrame, heldout: pd.DataFrame, measures: pd.DataFrame) -> plt.Figure:
    """The learned rewards (:mod:`vcd.reward_models`): validation accuracy over training
    (left), held-out pairwise accuracy per drift kind for every scorer (middle), and each
    scorer's held-out scores against the drift severity (right, standardised)."""
    fig, axes = plt.subplots(1, 3, figsize=(14.5, 4.0))
    for name, rows in log.groupby("reward_model", sort=False):
        if "val_accuracy" in rows:
            axes[0].plot(rows.step, rows.val_accuracy, marker=".", label=_SCORER_NAMES.get(name, name))
    axes[0].set_xlabel("training step")
    axes[0].set_ylabel("validation pairwise accuracy")
    axes[0].set_title("early stopping on held-out training sources", fontsize=9)
    axes[0].legend(fontsize=8)
    axes[0].grid(alpha=0.3)
    kinds = ["pairwise_accuracy", *[c for c in measures.columns if c.startswith("accuracy_")]]
    width = 0.8 / len(measures)
    for k, row in enumerate(measures.itertuples(index=False)):
        values = [getattr(row, c) for c in kinds]
        axes[1].bar(np.arange(len(kinds)) + k * width, values, width, label=_SCORER_NAMES.get(row.scorer, row.scorer))
    axes[1].axhline(0.5, color="k", lw=0.8, ls="--")
    axes[1].set_xticks(np.arange(len(kinds)) + width * (len(measures) - 1) / 2)
    axes[1].set_xticklabels(["all", *[c.removeprefix("accuracy_") for c in kinds[1:]]], fontsize=8)
    axes[1].set_ylim(0, 1)
    axes[1].set_ylabel("held-out pairwise accuracy")
    axes[1].set_title("evaluation photographs (never trained on); 0.5 = chance", fontsize=9)
    axes[1].legend(fontsize=8)
    for name in measures.scorer:
        score = heldout[name].to_numpy(dtype=float) * (-1.0 if name == "vcd" else 1.0)
        score = (score - score.mean()) / max(score.std(), 1e-12)
        axes[2].scatter(heldout.severity, score, s=8, alpha=0.6, label=_SCORER_NAMES.get(name, name))
    axes[2].set_xlabel("drift severity (the label)")
    axes[2].set_ylabel("score (standardised; VCD negated)")
    axes[2].set_title("held-out scores: higher = judged more consistent", fontsize=9)
    axes[2].legend(fontsize=8)
    axes[2].grid(alpha=0.3)
    fig.tight_layout()
    return fig


def plot_best_of_n(curve: pd.DataFrame, metrics: Sequence[str], title: str) -> plt.Figure:
    """Best-of-N (:func:`vcd.best_of_n.best_of_curve`): each metric's mean over the
    selected videos against N, one line per scorer, ± one standard error over items.
    N = 1 is plain sampling for every scorer."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(4.6 * len(metrics), 3.8), squeeze=False)
    for ax, metric in zip(axes.flat, metrics):
        scale = 100.0 if metric_info(metric).percent else 1.0
        for scorer, rows in curve[curve.metric == metric].groupby("scorer", sort=False):
            rows = rows.sort_values("n")
            ax.errorbar(
                rows.n,
                rows["mean"] * scale,
                yerr=rows["sem"] * scale,
                marker="o",
                ms=4,
                capsize=3,
                label=f"by {_SCORER_NAMES.get(scorer, scorer)}",
            )
        ax.set_xlabel("N (candidates sampled per item and seed)")
        ax.set_ylabel(metric_info(metric).heading)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig
