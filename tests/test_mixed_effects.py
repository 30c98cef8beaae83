"""vcd.mixed_effects: the run-level mixed model recovers known effects and variance
components, its intervals cover at the nominal rate and its false-positive rate is near
5 % on data simulated from the model (the study issue's acceptance test)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vcd import mixed_effects as me


def _fits(n: int, seed: int, **design) -> list[me.MixedComparison]:
    rng = np.random.default_rng(seed)
    fixed = ("b",) if design.get("second_fixed") else ()
    return [
        me.compare_methods(me.cell_means(me.simulate_study(rng, **design), "value"), "a", "b", fixed) for _ in range(n)
    ]


def test_cell_means_average_sampling_seeds_and_leave_out_failed_videos():
    per_video = pd.DataFrame(
        {
            "method": ["a"] * 4,
            "run": [0, 0, 0, 1],
            "item": ["x", "x", "x", "x"],
            "value": [1.0, 3.0, 100.0, np.nan],
            "status": ["ok", "ok", "failed", "ok"],
        }
    )
    cells = me.cell_means(per_video, "value")
    assert cells.to_dict("records") == [{"method": "a", "run": 0, "item": "x", "value": 2.0, "n_seeds": 2}]
    with pytest.raises(ValueError, match="lacks columns"):
        me.cell_means(per_video.drop(columns="run"), "value")


def test_standard_error_is_statsmodels_own_and_components_are_recovered():
    """The Satterthwaite step rebuilds V from the fitted components: its standard error
    must equal statsmodels' ``bse_fe``; with many items and runs the components come back."""
    rng = np.random.default_rng(1)
    data = me.simulate_study(rng, effect=2.0, runs=12, items=60, seeds=4, sd_run=1.0, sd_item=2.0, sd_item_method=0.5)
    cells = me.cell_means(data, "value")
    fit = me.compare_methods(cells, "a", "b", fixed=())
    x, mats = me._design(cells, "a", ())
    from statsmodels.regression.mixed_linear_model import MixedLM

    reference = MixedLM(cells["value"].to_numpy(), x, groups=np.zeros(len(cells)), exog_vc=me._vc_spec(mats)).fit(
        reml=True
    )
    assert fit.se == pytest.approx(float(reference.bse_fe[1]), rel=1e-3)
    assert fit.effect == pytest.approx(2.0, abs=3 * fit.se)
    assert fit.variance["run"] == pytest.approx(1.0, rel=0.6)
    assert fit.variance["item"] == pytest.approx(4.0, rel=0.4)
    assert fit.variance["residual"] == pytest.approx(1.0 / 4, rel=0.2)  # seed variance / seeds per cell
    assert fit.converged and fit.runs_first == fit.runs_second == 12 and fit.items == 60
    # between-run evidence: about 2 x 12 - 2 degrees of freedom, far fewer than the 1440 cells
    assert 10 < fit.df < 40


def test_interval_covers_the_true_effect_at_the_nominal_rate():
    """Three runs per method, as in the default profile: run-to-run variance dominates and
    the Satterthwaite t interval covers the true effect about 95 % of the time, where
    statsmodels' normal (Wald) interval would not."""
    effect = 1.5
    fits = _fits(150, seed=2, effect=effect, runs=3, items=20, seeds=3)
    coverage = np.mean([f.ci95_low <= effect <= f.ci95_high for f in fits])
    wald = np.mean([abs(f.effect - effect) <= stats.norm.ppf(0.975) * f.se for f in fits])
    assert 0.9 <= coverage <= 0.99, coverage
    assert wald < coverage - 0.03, (wald, coverage)


def test_false_positive_rate_is_near_five_percent_against_a_fixed_base_model():
    """No effect; one method has three runs, the other is one fixed model (the base)."""
    fits = _fits(150, seed=3, effect=0.0, runs=3, items=20, seeds=3, second_fixed=True)
    rate = np.mean([f.p_value < 0.05 for f in fits])
    assert 0.01 <= rate <= 0.1, rate
    assert all(f.runs_second == 1 and f.variance["run"] >= 0 for f in fits)


def test_item_dominated_designs_get_item_level_degrees_of_freedom():
    """When runs barely differ, the evidence is the items: df grows towards their count,
    and the interval narrows accordingly."""
    fits = _fits(60, seed=4, effect=0.0, runs=3, items=30, seeds=3, sd_run=0.01, sd_item_method=1.0)
    assert np.median([f.df for f in fits]) > 10
    assert 0.0 <= np.mean([f.p_value < 0.05 for f in fits]) <= 0.12


def test_detectable_effect_is_detected_with_80_percent_power():
    """At the true variance components, an effect the size of the design's 80 %-power
    threshold is detected in about 80 % of simulated studies of that design."""
    design = {"runs": 4, "items": 20, "seeds": 3, "sd_run": 0.5, "sd_item": 1.0, "sd_item_method": 0.3, "sd_seed": 1.0}
    template = me.cell_means(me.simulate_study(np.random.default_rng(5), effect=0.0, **design), "value")
    truth = {"run": 0.25, "item": 1.0, "item_method": 0.09, "residual": 1.0 / 3}
    se, df = me.design_standard_error(template, "a", "b", truth, fixed=())
    mde = me.detectable_effect(se, df)
    assert mde == pytest.approx((stats.t.ppf(0.975, df) + stats.t.ppf(0.8, df)) * se, rel=0.03)
    power = np.mean([f.p_value < 0.05 for f in _fits(120, seed=6, effect=mde, **design)])
    assert 0.7 <= power <= 0.9, (mde, power)
    # and the normal-theory shortcut is close to the exact noncentral-t answer from 3 df up
    assert me.detectable_effect(1.0, 3) == pytest.approx(stats.t.ppf(0.975, 3) + stats.t.ppf(0.8, 3), rel=0.03)


def test_bad_designs_are_refused_before_fitting():
    rng = np.random.default_rng(7)
    cells = me.cell_means(me.simulate_study(rng, effect=0.0, runs=3, items=5), "value")
    with pytest.raises(ValueError, match="at least 2"):
        me.compare_methods(cells[cells["run"] != 1].query("method == 'b' and run == 0 or method == 'a'"), "a", "b", ())
    with pytest.raises(ValueError, match="no cells"):
        me.compare_methods(cells, "a", "c", ())
    with pytest.raises(ValueError, match="same items"):
        me.compare_methods(cells[~((cells.method == "a") & (cells.item == 0))], "a", "b", ())
    with pytest.raises(ValueError, match="several runs"):
        me.compare_methods(cells, "a", "b", fixed=("a", "b"))


def test_two_fixed_models_are_compared_by_a_paired_test_over_items():
    rng = np.random.default_rng(11)
    study = me.simulate_study(rng, effect=0.4, runs=1, items=12, second_fixed=True)
    cells = me.cell_means(study, "value")
    fit = me.compare_methods(cells, "a", "b", fixed=("a", "b"))
    wide = cells.pivot_table(index="item", columns="method", values="value")
    reference = stats.ttest_rel(wide["a"], wide["b"])
    assert fit.effect == pytest.approx(float((wide["a"] - wide["b"]).mean()))
    assert fit.p_value == pytest.approx(reference.pvalue) and fit.df == 11
    low, high = reference.confidence_interval()
    assert (fit.ci95_low, fit.ci95_high) == (pytest.approx(low), pytest.approx(high))
    assert fit.runs_first == fit.runs_second == 1 and fit.variance["run"] == 0


def test_holm_matches_the_step_down_rule_by_hand():
    # sorted 0.01, 0.02, 0.04 with 4 finite tests: 4 * 0.01, max(3 * 0.02, .), max(2 * 0.04, .), max(1 * 0.5, .)
    adjusted = me.holm([0.04, 0.01, float("nan"), 0.5, 0.02])
    np.testing.assert_allclose(adjusted, [0.08, 0.04, np.nan, 0.5, 0.06])
