"""The human study's analysis against numbers computed by hand.

``fixtures/human_votes_fixture.csv`` is a hand-made study: 3 raters, one dataset, two
pairs (base vs vcd: trials t1, t2; frame_consistency vs vcd: t3, t4), two questions,
with the sides each rater saw (rater 1: t1 base left, t2 vcd left, t3 fc left, t4 vcd
left; rater 2: vcd, vcd, vcd, fc; rater 3: base, base, fc, fc) and one row of another
study. The winners, per (trial, question) for raters 1, 2, 3:

    t1 temporal   vcd  vcd  tie      t1 motion   tie  tie  tie
    t2 temporal   vcd  base vcd      t2 motion   base tie  tie
    t3 temporal   vcd  vcd  vcd      t3 motion   fc   fc   tie
    t4 temporal   fc   vcd  tie      t4 motion   tie  vcd  fc

Table 4 by hand (percent of the 6 votes of each pair and question):
base vs vcd, temporal: base 1/6, tie 1/6, vcd 4/6; motion: base 1/6, tie 5/6, vcd 0.
fc vs vcd, temporal: fc 1/6, tie 1/6, vcd 4/6; motion: fc 3/6, tie 2/6, vcd 1/6.

Agreement by hand, over the 8 (trial, question) units of 3 raters: majority shares
2/3, 2/3, 1, 2/3, 1, 1/3, 2/3, 1/3 -> 16/24 = 66.67 %; pairwise agreement P_i = 1/3,
1/3, 1, 1/3, 1, 0, 1/3, 0 -> 10/24; category totals (first, tie, second) = 6, 9, 9 of
24, P_e = (6^2 + 9^2 + 9^2) / 24^2 = 0.34375, kappa = (10/24 - 0.34375) / (1 - 0.34375)
= 1/9. Side bias: each rater chose the left video in 1/3 of their non-tie votes (2 of
6, 2 of 6, 1 of 3).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vcd.human_analysis import agreement, outcomes, paper_stars, read_votes, side_bias, significance, table4

FIXTURES = Path(__file__).parent / "fixtures"
PAIRS = [("base", "vcd"), ("frame_consistency", "vcd")]
QUESTIONS = ["temporal_consistency", "motion_naturalness"]


@pytest.fixture()
def votes(tmp_path):
    folder = tmp_path / "votes"
    folder.mkdir()
    (folder / "export.csv").write_text((FIXTURES / "human_votes_fixture.csv").read_text())
    votes, other = read_votes(folder, "fixture-study")
    assert other == {"export.csv": 1}  # the other study's row is counted, not analysed
    return votes


def test_table4_matches_the_hand_computation(votes):
    table = table4(votes, PAIRS, QUESTIONS)
    sixth = 100 / 6
    expected = {
        ("base vs vcd", "base"): [sixth, sixth],
        ("base vs vcd", "Tie"): [sixth, 5 * sixth],
        ("base vs vcd", "vcd"): [4 * sixth, 0.0],
        ("frame_consistency vs vcd", "frame_consistency"): [sixth, 3 * sixth],
        ("frame_consistency vs vcd", "Tie"): [sixth, 2 * sixth],
        ("frame_consistency vs vcd", "vcd"): [4 * sixth, sixth],
    }
    assert list(table.index) == list(expected)
    for row, values in expected.items():
        np.testing.assert_allclose(table.loc[row].to_numpy(), values, atol=1e-9)
    np.testing.assert_allclose(table.groupby(level=0).sum().to_numpy(), 100.0)  # each pair's votes sum to 100 %


def test_the_left_right_randomisation_is_undone(votes):
    scored = outcomes(votes)
    # rater 1 saw vcd on the left in t2 and chose A: a vote for vcd, the second method
    row = scored[(scored.rater == 1) & (scored.trial == "t2") & (scored.criterion == "temporal_consistency")].iloc[0]
    assert (row.choice, row.outcome, row.score) == ("A", "second", 1)
    # the same choice letter means different methods for raters who saw other sides
    t1 = scored[(scored.trial == "t1") & (scored.criterion == "temporal_consistency")].set_index("rater")
    assert list(t1.choice[[1, 2]]) == ["B", "A"] and list(t1.outcome[[1, 2]]) == ["second", "second"]


def test_significance_uses_the_stated_units(votes):
    sig = significance(votes).set_index(["question", "pair"])
    row = sig.loc[("temporal_consistency", "base vs vcd")]
    assert (row.votes, row.raters, row.mean_score) == (6, 3, 0.5)
    # the paper's test: the six vote scores; the rater-level test: each rater's mean
    assert row.p_paper_t_votes == pytest.approx(stats.ttest_1samp([1, 1, 0, 1, -1, 1], 0).pvalue)
    assert row.p_t_raters == pytest.approx(stats.ttest_1samp([1.0, 0.0, 0.5], 0).pvalue)
    assert row.p_sign_votes == pytest.approx(stats.binomtest(4, 5).pvalue)
    assert row.p_paper_t_votes == pytest.approx(0.2031, abs=1e-3) and row.p_t_raters == pytest.approx(0.2254, abs=1e-3)
    no_effect = sig.loc[("motion_naturalness", "base vs vcd")]
    assert no_effect.mean_score == pytest.approx(-1 / 6)


def test_agreement_and_fleiss_kappa_match_the_hand_computation(votes):
    agree = agreement(votes)
    assert (agree["units"], agree["raters_per_unit"], agree["units_left_out"]) == (8, 3, 0)
    assert agree["percent_agreement_majority"] == pytest.approx(100 * 16 / 24)
    assert agree["percent_agreement_pairwise"] == pytest.approx(100 * 10 / 24)
    assert agree["fleiss_kappa"] == pytest.approx(1 / 9)
    assert agree["category_shares"] == {"first": 0.25, "tie": 0.375, "second": 0.375}


def test_fleiss_kappa_reproduces_the_published_worked_example():
    """Fleiss (1971) as worked in Wikipedia's "Fleiss' kappa" article: 10 subjects,
    14 raters, 5 categories, kappa = 0.210. Built as votes of two methods would not
    give five categories, so this checks statsmodels' function the analysis calls."""
    from statsmodels.stats.inter_rater import fleiss_kappa

    table = np.array(
        [
            [0, 0, 0, 0, 14],
            [0, 2, 6, 4, 2],
            [0, 0, 3, 5, 6],
            [0, 3, 9, 2, 0],
            [2, 2, 8, 1, 1],
            [7, 7, 0, 0, 0],
            [3, 2, 6, 3, 0],
            [2, 5, 3, 2, 2],
            [6, 5, 2, 1, 0],
            [0, 2, 2, 3, 7],
        ]
    )
    assert fleiss_kappa(table, method="fleiss") == pytest.approx(0.210, abs=5e-4)


def test_side_bias_matches_the_hand_computation(votes):
    bias = side_bias(votes).set_index("rater")
    assert list(bias.non_tie) == [6, 6, 3]
    np.testing.assert_allclose(bias.left_share, [1 / 3] * 3)
    assert bias.p_binomial[1] == pytest.approx(22 / 32) and bias.p_binomial[3] == pytest.approx(1.0)


def test_votes_that_contradict_their_sides_or_repeat_are_refused(tmp_path):
    table = pd.read_csv(FIXTURES / "human_votes_fixture.csv")
    bad = table.copy()
    bad.loc[0, "winner"] = "base" if bad.loc[0, "winner"] != "base" else "vcd"
    (tmp_path / "a").mkdir()
    bad.to_csv(tmp_path / "a" / "v.csv", index=False)
    with pytest.raises(ValueError, match="does not follow"):
        read_votes(tmp_path / "a", "fixture-study")
    (tmp_path / "b").mkdir()
    pd.concat([table, table.iloc[:1]]).to_csv(tmp_path / "b" / "v.csv", index=False)
    with pytest.raises(ValueError, match="repeat"):
        read_votes(tmp_path / "b", "fixture-study")
    (tmp_path / "c").mkdir()
    table.drop(columns=["winner"]).to_csv(tmp_path / "c" / "v.csv", index=False)
    with pytest.raises(ValueError, match="not a votes export"):
        read_votes(tmp_path / "c", "fixture-study")


def test_no_votes_file_means_no_votes(tmp_path):
    votes, other = read_votes(tmp_path, "any")
    assert len(votes) == 0 and other == {}


def test_the_papers_marks():
    assert [paper_stars(p) for p in (0.0009, 0.001, 0.0049, 0.005, float("nan"))] == ["***", "**", "**", "", ""]


def test_fig8_draws_one_stacked_bar_per_question_and_pair(votes):
    from vcd.figures import plot_human_votes

    fig = plot_human_votes(table4(votes, PAIRS, QUESTIONS), significance(votes), "fixture")
    bars = [p for p in fig.axes[0].patches if p.get_width() > 0]
    widths = sorted(round(p.get_width(), 6) for p in bars)
    expected = sorted(
        round(100 * k / 6, 6) for k in (1, 1, 4, 1, 5, 1, 1, 4, 3, 2, 1)
    )  # Table 4 by hand, zeros left out
    assert widths == expected
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    assert labels[0].startswith("temporal consistency") and "(stand-in)" in labels[1]
