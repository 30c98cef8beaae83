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
    "plot_training_log",
    "plot_frame_strips",
    "plot_drift",
    "plot_finetune_curves",
    "collect_per_video",
    "write_table",
    "CLAIMS",
    "evaluate_claims",
    "plot_metric_bars",
    "plot_vcd_by_frame",
    "frame_strips_by_method",
    "PAPER_COLUMN",
    "paper_comparison_table",
    "sync_readme",
    "finetune_runs_table",
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


def save_figure(fig: plt.Figure, path: str | Path, footer: str | None = None, dpi: int = 150) -> Path:
    """Save as PNG with an optional provenance footer."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if footer:
        fig.text(0.01, 0.005, footer, fontsize=7, color="0.35", ha="left", va="bottom")
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
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


def plot_training_log(log: pd.DataFrame, x: str = "step", y: str = "loss", hue: str = "phase", title: str = "Training loss",
                      smooth: int = 20) -> plt.Figure:
    """Loss curves (raw, faint) with a moving average, one panel per ``hue`` value."""
    groups = list(log.groupby(hue, sort=False)) if hue in log else [("", log)]
    fig, axes = plt.subplots(1, len(groups), figsize=(4.4 * len(groups), 3.2), squeeze=False)
    for ax, (name, group) in zip(axes[0], groups):
        ax.plot(group[x], group[y], color="0.75", lw=0.8, label="per step")
        ax.plot(group[x], group[y].rolling(smooth, min_periods=1).mean(), color="#c44e52", lw=1.6, label=f"moving mean ({smooth})")
        ax.set_xlabel(x)
        ax.set_ylabel(y)
        ax.set_title(f"{title}: {name}" if name != "" else title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize=7)
    fig.tight_layout()
    return fig


def plot_frame_strips(rows: Sequence[tuple[str, Any, Any]], frames: Sequence[int] | None = None, title: str = "") -> plt.Figure:
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
        panels = ([("conditioning", cond)] if with_cond else []) + [(f"frame {f + 1}", video[f] if f < video.shape[0] else None) for f in columns]
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
        sns.lineplot(data=drift, x="frame", y=column, hue=hue, errorbar=("ci", 95), marker="o", ms=4, ax=ax)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("frame index i")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, frameon=False, title=None)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_finetune_curves(log: pd.DataFrame, val: pd.DataFrame, label: str, smooth: int = 6) -> plt.Figure:
    """Fine-tuning: per-step objective with its moving mean, and the probe-set VCD."""
    fig, axes = plt.subplots(1, 2, figsize=(9.0, 3.3))
    ax = axes[0]
    ax.plot(log.step, log.loss, color="0.7", lw=0.9, marker=".", ms=3, label="per step")
    ax.plot(log.step, log.loss.rolling(smooth, min_periods=1).mean(), color="#c44e52", lw=1.8, label=f"moving mean ({smooth})")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("minimised objective")
    ax.set_title(f"{label}: training objective", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(frameon=False, fontsize=7)
    ax = axes[1]
    if len(val):
        ax.plot(val.step, val.val_vcd, marker="o", color="#4c72b0")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("VCD (Eq. 2, mean over i), probe set")
    ax.set_title("VCD of a fixed probe set", fontsize=10)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------- evaluation report
def collect_per_video(results_dir: str | Path, methods: Sequence[str], datasets: Sequence[str], seeds: Sequence[int]) -> tuple[pd.DataFrame, list[str]]:
    """Concatenate ``<results_dir>/<method>/per_video.csv``. A method whose folder or
    file is missing is listed (and represented by excluded rows would need its items;
    it is reported, never silently dropped)."""
    frames, missing = [], []
    for method in methods:
        path = Path(results_dir) / method / "per_video.csv"
        if not path.is_file():
            missing.append(method)
            continue
        frames.append(pd.read_csv(path, keep_default_na=True))
    if not frames:
        raise FileNotFoundError(f"no per_video.csv under {results_dir} for any of {list(methods)}; run the evaluate stage")
    per_video = pd.concat(frames, ignore_index=True)
    per_video["reason"] = per_video["reason"].fillna("")
    per_video = per_video.dropna(axis=1, how="all")  # a metric computed for no video (e.g. VCD limited to some seeds)
    return per_video[per_video.dataset.isin(datasets)].reset_index(drop=True), missing


def _format_cell(mean: float, low: float, high: float, scale: float) -> str:
    if not np.isfinite(mean):
        return "n/a"
    half = (high - low) / 2 if np.isfinite(low) and np.isfinite(high) else float("nan")
    return f"{mean * scale:.2f} ± {half * scale:.2f}" if np.isfinite(half) else f"{mean * scale:.2f}"


def _rank_marks(values: Sequence[float], higher_is_better: bool) -> list[str]:
    order = [i for i in np.argsort(values)[::(-1 if higher_is_better else 1)] if np.isfinite(values[i])]
    marks = [""] * len(values)
    if len({round(float(values[i]), 12) for i in order}) <= 1:
        return marks  # all equal: nothing to emphasise
    if order:
        marks[order[0]] = "best"
    if len(order) > 1:
        marks[order[1]] = "second"
    return marks


def write_table(summary: pd.DataFrame, methods: Sequence[str] | None, metrics: Sequence[str] | None, dataset: str | None,
                stem: str | Path, caption: str, scale: float = 100.0) -> tuple[str, str]:
    """Write ``stem.md`` and ``stem.tex``.

    With ``methods``/``metrics``: Table 2's layout (methods x metrics, mean ± CI
    half-width x ``scale``, best **bold**, second underlined per column; ``vcd`` and
    ``sharpness`` are shown unscaled). Without: ``summary`` is any flat table written as is.
    """
    from .evaluation import metric_info
    from .rewards import reward_label

    stem = Path(stem)
    stem.parent.mkdir(parents=True, exist_ok=True)
    if methods is None:
        flat = summary.copy()
        for col in flat.columns:
            if flat[col].dtype.kind == "f":
                flat[col] = flat[col].map(lambda v: f"{v:.3g}")
        md = f"{caption}\n\n" + flat.to_markdown(index=False) + "\n"
        tex = flat.to_latex(index=False, caption=caption, escape=True)
        stem.with_suffix(".md").write_text(md, encoding="utf-8")
        stem.with_suffix(".tex").write_text(tex, encoding="utf-8")
        return md, tex
    data = summary[summary.dataset == dataset]
    header = ["method"] + [metric_info(m).label + (" ↑" if metric_info(m).higher_is_better else " ↓") for m in metrics]
    cells = {m: [] for m in methods}
    for metric in metrics:
        factor = scale if metric_info(metric).percent else 1.0
        rows = [data[(data.method == m) & (data.metric == metric)] for m in methods]
        means = [float(r["mean"].iloc[0]) if len(r) else float("nan") for r in rows]
        marks = _rank_marks(means, metric_info(metric).higher_is_better)
        for method, r, mark in zip(methods, rows, marks):
            text = _format_cell(float(r["mean"].iloc[0]), float(r.ci95_low.iloc[0]), float(r.ci95_high.iloc[0]), factor) if len(r) else "n/a"
            cells[method].append((text, mark))
    md_lines = [caption, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    tex_lines = ["\\begin{table}[t]", "\\centering", f"\\caption{{{caption}}}".replace("%", "\\%").replace("±", "$\\pm$"),
                 "\\resizebox{\\linewidth}{!}{", "\\begin{tabular}{l" + "c" * len(metrics) + "}", "\\toprule",
                 " & ".join(h.replace("↑", "$\\uparrow$").replace("↓", "$\\downarrow$") for h in header) + " \\\\", "\\midrule"]
    for method in methods:
        md_cells, tex_cells = [], []
        for text, mark in cells[method]:
            md_cells.append(f"**{text}**" if mark == "best" else f"<u>{text}</u>" if mark == "second" else text)
            t = text.replace("±", "$\\pm$")
            tex_cells.append(f"\\textbf{{{t}}}" if mark == "best" else f"\\underline{{{t}}}" if mark == "second" else t)
        md_lines.append(f"| {reward_label(method)} | " + " | ".join(md_cells) + " |")
        tex_lines.append(reward_label(method).replace("_", "\\_").replace("+", "+") + " & " + " & ".join(tex_cells) + " \\\\")
    tex_lines += ["\\bottomrule", "\\end{tabular}}", "\\end{table}"]
    md, tex = "\n".join(md_lines) + "\n", "\n".join(tex_lines) + "\n"
    stem.with_suffix(".md").write_text(md, encoding="utf-8")
    stem.with_suffix(".tex").write_text(tex, encoding="utf-8")
    return md, tex


#: The paper's claims: (id, text, metric, first method, second method, kind).
#: kind "greater"/"less": first > / < second with p < 0.05; "not_worse": no significant degradation.
CLAIMS: tuple[tuple[str, str, str, str, str, str], ...] = (
    ("C1a", "VCD improves consistency to the conditioning image over the base model", "i2v_subject_hog", "vcd", "base", "greater"),
    ("C1b", "VCD improves consistency to the conditioning image over the base model", "ssim_to_cond_aligned", "vcd", "base", "greater"),
    ("C2a", "VCD improves whole-video temporal consistency over the base model", "subject_consistency_hog", "vcd", "base", "greater"),
    ("C2b", "VCD improves whole-video temporal consistency over the base model", "temporal_flickering", "vcd", "base", "greater"),
    ("C3a", "VCD does not degrade quality proxies", "motion_smoothness_linear", "vcd", "base", "not_worse"),
    ("C3b", "VCD does not degrade quality proxies", "sharpness_laplacian", "vcd", "base", "not_worse"),
    ("C4a", "VCD lowers dynamic degree", "dynamic_degree_farneback", "vcd", "base", "less"),
    ("C4b", "VCD lowers dynamic degree", "flow_magnitude_farneback", "vcd", "base", "less"),
    ("C5a", "Without the temporal weight, dynamic degree falls below VCD's", "dynamic_degree_farneback", "vcd_no_tw", "vcd", "less"),
    ("C5b", "Without the temporal weight, dynamic degree falls below VCD's", "flow_magnitude_farneback", "vcd_no_tw", "vcd", "less"),
    ("C6a", "The L2 variant (Eq. 4) falls below VCD's dynamic degree", "dynamic_degree_farneback", "vcd_l2", "vcd", "less"),
    ("C6b", "The L2 variant (Eq. 4) falls below VCD's dynamic degree", "flow_magnitude_farneback", "vcd_l2", "vcd", "less"),
    ("C6c", "The feature-space variant (Eq. 5) falls below VCD's dynamic degree", "dynamic_degree_farneback", "vcd_feat", "vcd", "less"),
    ("C6d", "The feature-space variant (Eq. 5) falls below VCD's dynamic degree", "flow_magnitude_farneback", "vcd_feat", "vcd", "less"),
    ("C7a", "The reference-free baseline (+V-JEPA row) preserves the conditioning image less well than VCD", "i2v_subject_hog", "vcd", "{baseline}", "greater"),
    ("C7b", "The reference-free baseline (+V-JEPA row) preserves the conditioning image less well than VCD", "ssim_to_cond_aligned", "vcd", "{baseline}", "greater"),
)


def evaluate_claims(per_video: pd.DataFrame, methods: Sequence[str], datasets: Sequence[str], baseline: str) -> list[dict[str, Any]]:
    """Test each claim per dataset with a two-sided Welch t-test on per-run values."""
    from .rewards import STAND_INS, reward_label
    from .statistics import per_run_values, welch_test

    out = []
    for dataset in datasets:
        for cid, text, metric, first, second, kind in CLAIMS:
            second = second.format(baseline=baseline)
            if first not in methods or second not in methods:
                continue
            runs = per_run_values(per_video[per_video.dataset == dataset], metric)
            a = runs[runs.method == first]["value"].to_numpy()
            b = runs[runs.method == second]["value"].to_numpy()
            test = welch_test(a, b)
            effect, p = test["effect"], test["p_value"]
            if kind == "greater":
                reproduced = bool(effect > 0 and p < 0.05)
            elif kind == "less":
                reproduced = bool(effect < 0 and p < 0.05)
            else:  # not_worse: no significant degradation
                reproduced = bool(not (effect < 0 and p < 0.05)) if np.isfinite(p) else False
            sign = {"greater": ">", "less": "<", "not_worse": ">="}[kind]
            label_b = reward_label(second) + (" [stand-in]" if second in STAND_INS else "")
            out.append({
                "id": f"{cid}@{dataset}" if len(datasets) > 1 else cid,
                "claim": text,
                "metric": metric,
                "comparison": f"{reward_label(first)} {sign} {label_b}",
                "effect": effect,
                "p_value": p,
                "reproduced": reproduced,
                "dataset": dataset,
                "n_runs": [int(test["n_a"]), int(test["n_b"])],
                "test": "two-sided Welch t-test on per-run means (scipy.stats.ttest_ind, equal_var=False)",
            })
    return out


def plot_metric_bars(summary: pd.DataFrame, methods: Sequence[str], metrics: Sequence[str], dataset: str) -> plt.Figure:
    """Fig. 6 style: one panel per metric, a bar per method (mean over runs) with the
    95 % CI as error bar and the value printed in the bar."""
    from .evaluation import metric_info
    from .rewards import reward_label

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
                ax.text(xi, ax.get_ylim()[0], f"{m:.3f}", ha="center", va="bottom", fontsize=6.5, rotation=90, color="white")
        ax.set_xticks(x, [reward_label(m).replace(" (stand-in for +V-JEPA)", "\n(stand-in\nfor +V-JEPA)") for m in methods],
                      rotation=35, ha="right", fontsize=6.5)
        info = metric_info(metric)
        ax.set_title(info.label + (" ↑" if info.higher_is_better else " ↓"), fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    fig.suptitle(f"Evaluation on {dataset}: mean of five runs (one per seed) with 95% CI", fontsize=10)
    fig.tight_layout()
    return fig


def plot_vcd_by_frame(per_frame: pd.DataFrame, methods: Sequence[str], which: str = "") -> plt.Figure:
    """Unweighted VCD of frame i to frame 1 against i, one line per method (95 % CI over videos)."""
    import seaborn as sns

    from .rewards import reward_label

    data = per_frame[per_frame.method.isin(methods)].copy()
    data["method"] = data.method.map(reward_label)
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    sns.lineplot(data=data, x="frame", y="vcd_unweighted", hue="method", errorbar=("ci", 95), marker="o", ms=4, ax=ax)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("frame index i")
    ax.set_ylabel("VCD to frame 1 (unweighted)")
    ax.set_title("Drift over the frames, per method (mean, 95% CI over videos" + (f"; {which})" if which else ")"), fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7, frameon=False)
    fig.tight_layout()
    return fig


def frame_strips_by_method(video_dir: str | Path, methods: Sequence[str], dataset: str, per_video: pd.DataFrame,
                           images: Sequence[str] | int, seed: int) -> plt.Figure:
    """Fig. 14 style: for the same image and seed, the conditioning image and the frames
    of each method's video. ``images``: image ids to show (those present in the
    dataset), or a count of the first ones."""
    import torch

    from .evaluation import video_name
    from .rewards import reward_label
    from .video_io import VideoReadError, read_video

    from PIL import Image

    rows = []
    data = per_video[per_video.dataset == dataset]
    if isinstance(images, int):
        prompts = list(dict.fromkeys(data.prompt))[:images]
    else:
        prompts = list(dict.fromkeys(data[data.image_id.isin(list(images))].prompt)) or list(dict.fromkeys(data.prompt))[:2]
    for prompt in prompts:
        cond_path = Path(video_dir) / methods[0] / dataset / "conditioning" / f"{video_name(prompt, 0)[:-6]}.png"
        cond = torch.from_numpy(np.asarray(Image.open(cond_path).convert("RGB"))).permute(2, 0, 1).float() / 255
        for k, method in enumerate(methods):
            try:
                frames = read_video(Path(video_dir) / method / dataset / video_name(prompt, seed))
            except VideoReadError:
                continue
            video = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255
            short = prompt if len(prompt) < 28 else prompt[:25] + "..."
            rows.append((f"{reward_label(method)}\n{short}" if k == 0 else reward_label(method), cond if k == 0 else None, video))
    return plot_frame_strips(rows, title=f"Same image and seed ({seed}) across methods ({dataset})")


#: our metric -> the paper's Table 2 column it stands in for
PAPER_COLUMN = {
    "i2v_subject_hog": "i2v_subject",
    "subject_consistency_hog": "subject_consistency",
    "temporal_flickering": "temporal_flickering",
    "motion_smoothness_linear": "motion_smoothness",
    "dynamic_degree_farneback": "dynamic_degree",
}


def paper_comparison_table(summary: pd.DataFrame, paper: Mapping[str, Any], dataset: str, rows: Sequence[str], stem: str | Path,
                           label: str) -> str:
    """The paper's Table 2 rows next to this run's rows for the columns that have a
    stand-in here (``PAPER_COLUMN``), as Markdown (``stem.md``). Paper values are
    quoted from ``data/paper/results.yaml``; this run's are computed (x100)."""
    from .evaluation import metric_info
    from .rewards import reward_label

    table = paper["table2"]
    columns = [m for m in PAPER_COLUMN if m in set(summary.metric)]
    index = [table["columns"].index(PAPER_COLUMN[m]) for m in columns]
    header = ["source", "method"] + [f"{PAPER_COLUMN[m].replace('_', ' ')} / {metric_info(m).label}" for m in columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, values in table["rows"].items():
        ci = table["ci95"][name]
        cells = [f"{values[i]:.2f} ± {ci[i]:.2f}" for i in index]
        lines.append(f"| paper (VBench-I2V, official metrics) | {name} | " + " | ".join(cells) + " |")
    data = summary[summary.dataset == dataset]
    for method in rows:
        cells = []
        for metric in columns:
            r = data[(data.method == method) & (data.metric == metric)]
            cells.append(_format_cell(float(r["mean"].iloc[0]), float(r.ci95_low.iloc[0]), float(r.ci95_high.iloc[0]), 100.0) if len(r) else "n/a")
        lines.append(f"| {label} | {reward_label(method)} | " + " | ".join(cells) + " |")
    md = "\n".join(lines) + "\n"
    Path(stem).with_suffix(".md").write_text(md, encoding="utf-8")
    return md


def sync_readme(readme: str | Path, root: str | Path = ".") -> list[str]:
    """Replace every ``<!-- BEGIN <path> -->...<!-- END <path> -->`` block of the README
    with the current content of ``<path>`` (a table the pipeline wrote), so the README
    always shows computed numbers. Returns the paths synced."""
    import re

    readme = Path(readme)
    text = readme.read_text(encoding="utf-8")
    pattern = re.compile(r"(<!-- BEGIN (?P<path>\S+) -->\n)(.*?)(<!-- END (?P=path) -->)", re.S)
    synced: list[str] = []

    def replace(match: re.Match) -> str:
        path = Path(root) / match.group("path")
        synced.append(match.group("path"))
        return match.group(1) + path.read_text(encoding="utf-8").rstrip("\n") + "\n" + match.group(4)

    readme.write_text(pattern.sub(replace, text), encoding="utf-8")
    return synced


if __name__ == "__main__":  # python -m vcd.reporting: refresh the README's result tables
    import sys

    done = sync_readme(sys.argv[1] if len(sys.argv) > 1 else "README.md")
    print(f"synced {len(done)} table(s): {', '.join(done)}")


def finetune_runs_table(run_dirs: Mapping[str, str | Path], stem: str | Path, caption: str) -> pd.DataFrame:
    """One row per fine-tuning run from its ``run_info.json``: the minimised objective in
    the first and last quarter of training, the probe-set VCD before and after, time
    per step and peak memory. Written as ``stem.md`` / ``stem.tex``."""
    from .rewards import reward_label

    rows = []
    for name, folder in run_dirs.items():
        info = json.loads((Path(folder) / "run_info.json").read_text())
        rows.append({"run": reward_label(name), "steps": info["steps"],
                     "loss, first quarter": info["loss_first_quarter"], "loss, last quarter": info["loss_last_quarter"],
                     "probe VCD, start": info.get("val_vcd_first", float("nan")), "probe VCD, end": info.get("val_vcd_last", float("nan")),
                     "s / step": info["seconds_per_step"], "peak MB": info["peak_mem_mb"]})
    table = pd.DataFrame(rows)
    write_table(table, None, None, None, stem, caption)
    return table
