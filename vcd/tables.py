"""Tables of the report: the paper's layouts regenerated from computed summaries.

Every table is written twice, as Markdown (``.md``, what the README embeds) and LaTeX
(``.tex``). :data:`REPORT_TABLES` specifies the paper's method tables (Table 2's
layout, the temporal-weight ablation of Table 5, the distance/space ablation of
App. C.3): which rows, which metrics, what the caption says. The paper's own numbers
are only ever quoted from ``data/paper/results.yaml`` (:func:`paper_comparison_table`),
next to this run's and labelled as the paper's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .claims import BASELINE
from .columns import METRICS, metric_info
from .files import write_text
from .layout import Layout
from .methods import BASE, method_label
from .runs import read_run_info

__all__ = [
    "format_cell",
    "rank_marks",
    "write_flat_table",
    "write_method_table",
    "MethodTable",
    "REPORT_TABLES",
    "TABLE_COST_COLUMNS",
    "write_report_tables",
    "PAPER_COLUMN",
    "paper_comparison_table",
    "finetune_runs_table",
    "write_claims_table",
]


def format_cell(mean: float, low: float, high: float, scale: float) -> str:
    """``mean ± half-width`` of a 95 % interval, x ``scale``; ``n/a`` when not computed."""
    if not np.isfinite(mean):
        return "n/a"
    half = (high - low) / 2 if np.isfinite(low) and np.isfinite(high) else float("nan")
    return f"{mean * scale:.2f} ± {half * scale:.2f}" if np.isfinite(half) else f"{mean * scale:.2f}"


def rank_marks(values: Sequence[float], higher_is_better: bool) -> list[str]:
    """``best`` / ``second`` for the two best finite values (nothing when all are equal)."""
    order = [i for i in np.argsort(values)[:: (-1 if higher_is_better else 1)] if np.isfinite(values[i])]
    marks = [""] * len(values)
    if len({round(float(values[i]), 12) for i in order}) <= 1:
        return marks  # all equal: nothing to emphasise
    if order:
        marks[order[0]] = "best"
    if len(order) > 1:
        marks[order[1]] = "second"
    return marks


def _write(stem: Path, md: str, tex: str) -> tuple[str, str]:
    write_text(stem.with_suffix(".md"), md)
    write_text(stem.with_suffix(".tex"), tex)
    return md, tex


def write_flat_table(frame: pd.DataFrame, stem: str | Path, caption: str) -> tuple[str, str]:
    """Any flat table as ``stem.md`` and ``stem.tex`` (floats to 3 significant digits)."""
    flat = frame.copy()
    for col in flat.columns:
        if flat[col].dtype.kind == "f":
            flat[col] = flat[col].map(lambda v: f"{v:.3g}")
    md = f"{caption}\n\n" + flat.to_markdown(index=False) + "\n"
    tex = flat.to_latex(index=False, caption=caption, escape=True)
    return _write(Path(stem), md, tex)


def _summary_row(data: pd.DataFrame, method: str, metric: str) -> pd.DataFrame:
    return data[(data.method == method) & (data.metric == metric)]


def write_method_table(
    summary: pd.DataFrame,
    methods: Sequence[str],
    metrics: Sequence[str],
    dataset: str,
    stem: str | Path,
    caption: str,
    scale: float = 100.0,
    costs: pd.DataFrame | None = None,
) -> tuple[str, str]:
    """Table 2's layout: methods x metrics, mean ± CI half-width (x ``scale`` for
    scores in [0, 1], like the paper's percentages), best **bold** and second
    underlined per column. With ``costs`` (:func:`vcd.costs.method_costs`), each row
    also gets its measured :data:`TABLE_COST_COLUMNS` (not ranked: a price, not a
    score)."""
    data = summary[summary.dataset == dataset]
    header = ["method"] + [metric_info(m).heading for m in metrics]
    price: dict[str, list[str]] = {}
    if costs is not None:
        header += list(TABLE_COST_COLUMNS)
        by_label = costs.set_index("method")
        for method in methods:
            row = by_label.loc[method_label(method)] if method_label(method) in by_label.index else None
            price[method] = [
                "n/a" if row is None or pd.isna(row[c]) else f"{float(row[c]):.1f}" for c in TABLE_COST_COLUMNS
            ]
    cells: dict[str, list[tuple[str, str]]] = {m: [] for m in methods}
    for metric in metrics:
        info = metric_info(metric)
        factor = scale if info.percent else 1.0
        rows = [_summary_row(data, m, metric) for m in methods]
        means = [float(r["mean"].iloc[0]) if len(r) else float("nan") for r in rows]
        marks = rank_marks(means, info.higher_is_better)
        for method, r, mark in zip(methods, rows, marks, strict=True):
            text = (
                format_cell(float(r["mean"].iloc[0]), float(r.ci95_low.iloc[0]), float(r.ci95_high.iloc[0]), factor)
                if len(r)
                else "n/a"
            )
            cells[method].append((text, mark))
    md_lines = [caption, "", "| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    tex_lines = [
        "\\begin{table}[t]",
        "\\centering",
        f"\\caption{{{caption}}}".replace("%", "\\%").replace("±", "$\\pm$"),
        "\\resizebox{\\linewidth}{!}{",
        "\\begin{tabular}{l" + "c" * (len(header) - 1) + "}",
        "\\toprule",
        " & ".join(h.replace("↑", "$\\uparrow$").replace("↓", "$\\downarrow$") for h in header) + " \\\\",
        "\\midrule",
    ]
    for method in methods:
        md_cells, tex_cells = [], []
        for text, mark in cells[method]:
            md_cells.append(f"**{text}**" if mark == "best" else f"<u>{text}</u>" if mark == "second" else text)
            t = text.replace("±", "$\\pm$")
            tex_cells.append(f"\\textbf{{{t}}}" if mark == "best" else f"\\underline{{{t}}}" if mark == "second" else t)
        md_cells += price.get(method, [])
        tex_cells += price.get(method, [])
        md_lines.append(f"| {method_label(method)} | " + " | ".join(md_cells) + " |")
        tex_lines.append(method_label(method).replace("_", "\\_") + " & " + " & ".join(tex_cells) + " \\\\")
    tex_lines += ["\\bottomrule", "\\end{tabular}}", "\\end{table}"]
    return _write(Path(stem), "\n".join(md_lines) + "\n", "\n".join(tex_lines) + "\n")


# ---------------------------------------------------------------------------- the report's tables
@dataclass(frozen=True)
class MethodTable:
    """One of the paper's method tables: rows, columns and what its caption says."""

    name: str  # file stem, ``<name>_<dataset>``
    title: str
    rows: tuple[str, ...]  # methods; BASELINE stands for methods.baseline
    metrics: tuple[str, ...] | None  # None: the report's table_metrics
    note: str = ""
    paper_key: str | None = None  # a section of data/paper/results.yaml quoted in the caption
    with_costs: bool = False  # the measured training and sampling seconds beside the scores (vcd.costs)

    def caption(self, dataset: str, footer: str, units: str, paper: Mapping[str, Any]) -> str:
        quoted = ""
        if self.paper_key:
            section = paper[self.paper_key]
            if "rows" in section:  # a table: each row's values in its columns' order
                columns = ", ".join(section["columns"])
                values = "; ".join(f"{k} " + " / ".join(f"{v:.2f}" for v in row) for k, row in section["rows"].items())
                values = f"{columns} [%]: {values}"
            else:
                values = ", ".join(f"{v:.2f}% for {k}" for k, v in section.items())
            quoted = f" Paper (data/paper/results.yaml, Open-Sora on VBench-I2V): {values}."
        return f"{self.title} on {dataset} ({footer}). {self.note}{quoted} {units}".replace("  ", " ").strip()


#: The report's method tables (Sec. 4.2, Table 2, Table 5, App. C.3).
REPORT_TABLES: tuple[MethodTable, ...] = (
    MethodTable(
        "table2",
        "Table 2 layout",
        (BASE, BASELINE, "vcd"),
        None,
        "Best bold, second underlined. Welch t-tests (scipy.stats.ttest_ind, equal_var=False) are in claims.json.",
    ),
    MethodTable(
        "table5_temporal_weight",
        "Temporal-weight ablation (Table 5's comparison)",
        (BASE, "vcd_no_tw", "vcd"),
        None,
        "The paper reports VideoScore here; the profile's table metrics are shown.",
    ),
    MethodTable(
        "ablation_distance_space",
        "L2 (Eq. 4) and feature-space (Eq. 5) ablations with dynamic degree (App. C.3)",
        (BASE, "vcd", "vcd_no_tw", "vcd_l2", "vcd_feat"),
        (
            "dynamic_degree_farneback",
            "flow_magnitude_farneback",
            "i2v_subject_hog",
            "ssim_to_cond_aligned",
            "subject_consistency_hog",
        ),
        paper_key="dynamic_degree_ablation",
    ),
    MethodTable(
        "table1",
        "Table 1 layout: the amplitude and phase terms alone (Sec. 4.3)",
        (BASE, "vcd_amp", "vcd_phase", "vcd"),
        ("i2v_subject_hog", "ssim_to_cond_aligned", "temporal_flickering"),
        "I2V Subject's stand-in is HOG+colour; I2V Background's (DreamSim on the whole frame in VBench-I2V) is "
        "the whole-frame SSIM to the conditioning image; Temporal Flickering is VBench's own formula. "
        "Claims C8a-c in claims.json test the paper's reading (amplitude: global attributes; phase: local ones).",
        paper_key="table1",
    ),
    MethodTable(
        "related_methods",
        "Related methods in the same harness: FrameInit (ConsistI2V) without and with VCD fine-tuning",
        (BASE, "base+frameinit", "vcd", "vcd+frameinit"),
        None,
        "FrameInit changes only the initial noise (the low spatio-temporal frequencies of the conditioning image's "
        "static latent video noised to the SNR of ConsistI2V's tau = 850, vcd/frameinit.py): no training. "
        "Claims C9a-c in claims.json.",
        with_costs=True,
    ),
    MethodTable(
        "learned_rewards",
        "Learned consistency rewards as fine-tuning rewards: ICReward-style attention model and its MLP baseline",
        (BASE, "vcd", "icreward", "mlp_reward"),
        None,
        "Both reward models were trained on the known severity of synthetic drift over training-split sources "
        "(vcd/reward_models.py; results/reward_models/ has their held-out accuracy); their frozen features are the "
        "profile's VGG19 (random in the embedded profile: a stand-in for ICReward's ViT). Claims C10a-c.",
        with_costs=True,
    ),
    MethodTable(
        "best_of_n",
        "Best-of-N selection at sampling time: the base model's best of N candidates by each scorer",
        (BASE, "base+bestof-vcd", "base+bestof-icreward", "base+bestof-mlp_reward", "vcd"),
        None,
        "No training; N times the sampling, plus scoring (vcd/best_of_n.py; N: best_of_n.n). Every best-of-N "
        "method chooses from the same candidates. Claims C11a-c.",
        with_costs=True,
    ),
    MethodTable(
        "fidelity",
        "Is it an image-to-video model? First-frame fidelity, colour, drift, prompted direction, artefacts "
        "(vcd/fidelity.py)",
        (BASE, BASELINE, "vcd", "vcd_no_tw", "vcd_l2", "vcd_feat", "vcd_amp", "vcd_phase"),
        tuple(name for name, info in METRICS.items() if info.family == "fidelity"),
        "A real I2V model copies its image into frame 1 (SSIM near 100) with its colours (chroma error near 0), "
        "then drifts; flow follows prompt counts only prompts that name a direction; periodic artefacts is the "
        "share of spectral power in isolated peaks (stripes, grids; a photograph is near 0): a run that gains "
        "consistency by adding them is reward hacking.",
    ),
)


#: the cost columns of the tables that show them (a subset of vcd.costs.COST_COLUMNS)
TABLE_COST_COLUMNS: tuple[str, ...] = ("training s / run", "sampling s / video")
COSTS_NOTE = (
    "Costs: measured seconds on the machine that ran the pipeline (vcd.costs; best-of-N: N times the candidates' "
    "sampling; the learned rewards' one-time training is in costs_<dataset>)."
)


def _units(n_runs: int) -> str:
    return (
        f"Means over {n_runs} runs (one per seed) ± 95% CI half-width (Student t, {n_runs - 1} df); scores in [0, 1] "
        "x100 like the paper's percentages; motion magnitude in px at a 256-px short side; sharpness in 1e3 units."
    )


def write_report_tables(
    summary: pd.DataFrame,
    layout: Layout,
    methods: Sequence[str],
    baseline: str | None,
    datasets: Sequence[str],
    table_metrics: Sequence[str],
    n_runs: int,
    footer: str,
    paper: Mapping[str, Any],
    label: str,
    costs: Mapping[str, pd.DataFrame] | None = None,
) -> list[Path]:
    """Every table of :data:`REPORT_TABLES` per dataset, and the paper-comparison
    table; rows whose method was not evaluated are left out. ``costs`` (dataset ->
    :func:`vcd.costs.method_costs`) fills the cost columns of the tables that have
    them. Returns the stems."""
    measured = set(summary.metric)
    written = []
    for dataset in datasets:
        for table in REPORT_TABLES:
            rows = [baseline if r == BASELINE else r for r in table.rows]
            rows = [r for r in dict.fromkeys(rows) if r is not None and r in methods]
            metrics = [m for m in (table.metrics or table_metrics) if m in measured]
            stem = layout.table(f"{table.name}_{dataset}")
            caption = table.caption(dataset, footer, _units(n_runs), paper)
            priced = costs.get(dataset) if costs is not None and table.with_costs else None
            if priced is not None:
                caption += f" {COSTS_NOTE}"
            write_method_table(summary, rows, metrics, dataset, stem, caption, costs=priced)
            written.append(stem)
        rows = [r for r in dict.fromkeys((BASE, baseline, "vcd")) if r is not None and r in methods]
        stem = layout.table(f"paper_vs_this_run_{dataset}")
        paper_comparison_table(summary, paper, dataset, rows, stem, f"{label}, {dataset}")
        written.append(stem)
    return written


#: our metric -> the paper's Table 2 column it stands in for
PAPER_COLUMN = {
    "i2v_subject_hog": "i2v_subject",
    "subject_consistency_hog": "subject_consistency",
    "temporal_flickering": "temporal_flickering",
    "motion_smoothness_linear": "motion_smoothness",
    "dynamic_degree_farneback": "dynamic_degree",
}


def paper_comparison_table(
    summary: pd.DataFrame, paper: Mapping[str, Any], dataset: str, rows: Sequence[str], stem: str | Path, label: str
) -> str:
    """The paper's Table 2 rows next to this run's rows for the columns that have a
    stand-in here (:data:`PAPER_COLUMN`), as Markdown (``stem.md``). Paper values are
    quoted from ``data/paper/results.yaml``; this run's are computed (x100)."""
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
            r = _summary_row(data, method, metric)
            cells.append(
                format_cell(float(r["mean"].iloc[0]), float(r.ci95_low.iloc[0]), float(r.ci95_high.iloc[0]), 100.0)
                if len(r)
                else "n/a"
            )
        lines.append(f"| this run ({label}) | {method_label(method)} | " + " | ".join(cells) + " |")
    md = "\n".join(lines) + "\n"
    write_text(Path(stem).with_suffix(".md"), md)
    return md


def finetune_runs_table(layout: Layout, rewards: Sequence[str], train_on: Sequence[str], footer: str) -> pd.DataFrame:
    """One row per fine-tuning run (training dataset x reward, Sec. 4.1) from its
    ``run_info.json``: the minimised objective in the first and last quarter of
    training, the probe-set VCD before and after, time per step and peak memory.
    Written as the layout's ``finetune_runs`` table."""
    caption = (
        f"Fine-tuning runs ({footer}). Losses are each reward's own objective; probe VCD is Eq. 2 (paper preset) "
        "averaged over i on fixed training items and seeds."
    )
    rows = []
    for dataset in train_on:
        for name in rewards:
            info = read_run_info(layout.run(name, dataset))
            rows.append(
                {
                    "trained on": dataset,
                    "run": method_label(name),
                    "steps": info["steps"],
                    "loss, first quarter": info["loss_first_quarter"],
                    "loss, last quarter": info["loss_last_quarter"],
                    "probe VCD, start": info.get("val_vcd_first", float("nan")),
                    "probe VCD, end": info.get("val_vcd_last", float("nan")),
                    "s / step": info["seconds_per_step"],
                    "peak MB": info["peak_mem_mb"],
                }
            )
    table = pd.DataFrame(rows)
    write_flat_table(table, layout.table("finetune_runs"), caption)
    return table


def write_claims_table(claims: Sequence[Mapping[str, Any]], layout: Layout, footer: str) -> pd.DataFrame:
    """The claims and their tests as the layout's ``claims`` table: the run-level test
    beside the paper's protocol (:func:`vcd.claims.evaluate_study_claims`), or the
    paper's protocol alone (:func:`vcd.claims.evaluate_claims`)."""
    from .claims import MIXED_TEST, claims_frame

    table = claims_frame(claims)
    paper = (
        "p = two-sided Welch t-test (scipy) on the five sampling seeds of one fine-tuned model per method; "
        "reproduced = the claimed direction holds with p < 0.05 (for 'does not degrade': no significant degradation)"
    )
    if "paper protocol: p" in table:
        caption = (
            f"Claims of the paper tested on the current profile ({footer}), two ways. runs: the fine-tuning run is "
            f"the unit of replication ({MIXED_TEST}); effect = first minus second method; detectable = the "
            "smallest |effect| this design finds with 80 % power; reproduced uses the Holm-adjusted p. "
            f"paper protocol: {paper}. A claim that could not be tested says 'not tested' and why."
        )
    else:
        caption = (
            f"Claims of the paper tested on the current profile ({footer}). effect = mean difference of per-run "
            f"values (first minus second method); {paper}; a claim whose methods were not evaluated says "
            "'not tested' and why."
        )
    write_flat_table(table, layout.table("claims"), caption)
    return table
