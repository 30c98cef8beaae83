"""Tables: the paper's layouts from computed summaries, the paper's numbers only quoted."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import yaml

from vcd.layout import Layout
from vcd.tables import (
    REPORT_TABLES,
    format_cell,
    paper_comparison_table,
    rank_marks,
    write_method_table,
    write_report_tables,
)

REPO = Path(__file__).resolve().parents[1]
PAPER = yaml.safe_load(Layout(REPO).paper_results.read_text())


def _summary() -> pd.DataFrame:
    rows = []
    for method, value in (("base", 0.90), ("frame_consistency", 0.91), ("vcd", 0.95)):
        for metric in ("i2v_subject_hog", "flow_magnitude_farneback"):
            rows.append(
                {
                    "method": method,
                    "dataset": "d",
                    "metric": metric,
                    "mean": value,
                    "ci95_low": value - 0.01,
                    "ci95_high": value + 0.01,
                    "n_runs": 5,
                    "n_videos": 40,
                    "n_excluded": 0,
                }
            )
    return pd.DataFrame(rows)


def test_cells_and_ranks():
    assert format_cell(0.9, 0.89, 0.91, 100) == "90.00 ± 1.00"
    assert format_cell(float("nan"), 0, 0, 100) == "n/a"
    assert rank_marks([0.1, 0.3, 0.2], True) == ["", "best", "second"]
    assert rank_marks([0.1, 0.3, 0.2], False) == ["best", "", "second"]
    assert rank_marks([0.2, 0.2], True) == ["", ""]


def test_method_table_is_table_2s_layout(tmp_path):
    md, tex = write_method_table(
        _summary(), ["base", "vcd"], ["i2v_subject_hog", "flow_magnitude_farneback"], "d", tmp_path / "t", "caption"
    )
    lines = md.splitlines()
    assert lines[2].startswith("| method | I2V Subject (HOG+colour) ↑ | Motion magnitude (Farneback) ↑")
    assert lines[4] == "| base model | <u>90.00 ± 1.00</u> | <u>0.90 ± 0.01</u> |"  # scores x100; px unscaled
    assert lines[5] == "| +VCD | **95.00 ± 1.00** | **0.95 ± 0.01** |"
    assert "\\textbf{95.00 $\\pm$ 1.00}" in tex and (tmp_path / "t.md").is_file() and (tmp_path / "t.tex").is_file()


def test_report_tables_follow_their_specs_and_quote_the_paper_from_its_file(tmp_path):
    layout = Layout(tmp_path)
    stems = write_report_tables(
        _summary(),
        layout,
        ["base", "vcd", "frame_consistency"],
        "frame_consistency",
        ["d"],
        ["i2v_subject_hog"],
        5,
        "footer",
        PAPER,
        "default profile",
    )
    assert [s.name for s in stems] == [f"{t.name}_d" for t in REPORT_TABLES] + ["paper_vs_this_run_d"]
    table2 = layout.table("table2_d").with_suffix(".md").read_text()
    assert "+frame consistency (stand-in for +V-JEPA)" in table2 and "footer" in table2
    ablation = layout.table("ablation_distance_space_d").with_suffix(".md").read_text()
    for method, value in PAPER["dynamic_degree_ablation"].items():
        assert f"{value:.2f}% for {method}" in ablation.splitlines()[0]
    assert "| +VCD w/o temporal weight |" not in ablation  # not evaluated: no row


def test_paper_comparison_labels_both_sources(tmp_path):
    md = paper_comparison_table(_summary(), PAPER, "d", ["base", "vcd"], tmp_path / "cmp", "default profile, d")
    rows = md.splitlines()[2:]
    assert sum(r.startswith("| paper (VBench-I2V, official metrics) |") for r in rows) == len(PAPER["table2"]["rows"])
    assert rows[-1].startswith("| this run (default profile, d) | +VCD | 95.00 ± 1.00")


def test_related_method_tables_show_the_measured_costs_unranked(tmp_path):
    from vcd.costs import COST_COLUMNS
    from vcd.methods import method_label
    from vcd.tables import TABLE_COST_COLUMNS

    assert set(TABLE_COST_COLUMNS) <= set(COST_COLUMNS)
    costs = pd.DataFrame(
        {
            "method": [method_label("base"), method_label("vcd")],
            "training s / run": [0.0, 54.25],
            "one-time s": [0.0, 0.0],
            "sampling s / video": [1.5, float("nan")],
            "sampling vs base": [1.0, float("nan")],
        }
    )
    layout = Layout(tmp_path)
    write_report_tables(
        _summary(), layout, ["base", "vcd"], None, ["d"], ["i2v_subject_hog"], 5, "f", PAPER, "p", {"d": costs}
    )
    related = layout.table("related_methods_d").with_suffix(".md").read_text().splitlines()
    assert related[2].endswith("| training s / run | sampling s / video |")
    assert related[4] == "| base model | <u>90.00 ± 1.00</u> | 0.0 | 1.5 |"
    assert related[5] == "| +VCD | **95.00 ± 1.00** | 54.2 | n/a |"
    assert "Costs: measured seconds" in related[0]
    assert "\\begin{tabular}{lccc}" in layout.table("related_methods_d").with_suffix(".tex").read_text()
    table2 = layout.table("table2_d").with_suffix(".md").read_text()
    assert "training s / run" not in table2 and "Costs:" not in table2  # the paper's tables keep their layout
