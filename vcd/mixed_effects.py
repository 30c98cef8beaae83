"""Method comparisons with the fine-tuning run as the unit of replication: a linear
mixed model with crossed random effects, fitted by statsmodels.

The paper's protocol (Sec. 4.1, App. C; :mod:`vcd.statistics`) draws five sampling
seeds from *one* fine-tuned model per method and tests per-seed means with a t-test.
Its intervals describe the sampling noise of that one model; the variance that decides
whether a claim holds for the *method* -- from one fine-tuning run to the next -- never
enters the test. Here every method is fine-tuned from several run seeds and every run is
scored on every evaluation item, and a claim ``first`` vs ``second`` on one metric is
tested with

    y[r, i] = b0 + b1 * [method(r) = first] + u[r] + v[i] + w[i, method(r)] + e[r, i]

where ``y[r, i]`` is the mean over sampling seeds of run ``r``'s videos of item ``i``
(an (image, prompt) pair), and

* ``u[r] ~ N(0, s2_run)``: the fine-tuning run. Runs are **nested** in methods -- a
  run belongs to exactly one method -- so ``u`` is a random intercept per run label.
  A method given as ``fixed`` (the base model: one set of weights, the same in every
  study) has no run-to-run variance and its rows carry no ``u``.
* ``v[i] ~ N(0, s2_item)``: the evaluation item. Items are **crossed** with runs and
  methods -- every run is evaluated on every item -- so ``v`` is shared by all runs.
* ``w[i, m] ~ N(0, s2_item_method)``: how much a method's effect varies from item to
  item. Without it, the runs of a method on one item would share an unmodelled term
  and the test would count items x runs as independent evidence.
* ``e[r, i] ~ N(0, s2_residual)``: the run-by-item remainder, sampling seeds included.

Two fixed models (the base model and the base model sampled with FrameInit: no
training, so no run variance) have one cell per (method, item); ``u`` is absent and
``w`` cannot be told from ``e``, so the model reduces to a paired t-test over items on the
per-item differences (the item is then the unit of replication, df = items - 1), which is
what :func:`compare_methods` fits in that case.

Averaging the sampling seeds first keeps the model to one value per (run, item) cell:
seeds are replicates *within* a cell, and in a balanced design the cell means carry all
the information about ``b1``.

Crossed random effects are fitted in statsmodels as variance components of a single
group (``statsmodels.regression.mixed_linear_model.MixedLM``, REML). The interval and
p-value use Student's t with **Satterthwaite's** degrees of freedom (as R's lmerTest
does), computed from the REML information of the variance components at the fitted
values: with three runs per method the normal (Wald) reference of statsmodels'
``pvalues`` would be far too liberal. ``tests/test_mixed_effects.py`` checks coverage
and the false-positive rate on simulated data with known variance components: with three
runs per method, 20 items and three seeds, the 95 % interval covered the true effect in
91 % of 150 simulated studies (Satterthwaite is known to run slightly liberal with this
few runs; the normal interval did markedly worse), and against a fixed base model the
false-positive rate was 6 %.

The smallest effect detectable with 80 % power at two-sided level 0.05
(:func:`detectable_effect`) solves the noncentral-t power equation at the design's
standard error and degrees of freedom (within 2 % of the familiar
``(t[0.975, df] + t[0.8, df]) * se`` from 3 df up). Reported with a fit, it rests on the
*estimated* variance components; :func:`design_standard_error` gives the standard error
of any design at stated components, for sizing a study before running it.
"""

from __future__ import annotations

import warnings
from collections.abc import Collection, Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats
from statsmodels.regression.mixed_linear_model import MixedLM, VCSpec
from statsmodels.stats.multitest import multipletests
from statsmodels.tools.sm_exceptions import ConvergenceWarning

__all__ = [
    "MODEL",
    "COMPONENTS",
    "MixedComparison",
    "cell_means",
    "compare_methods",
    "design_standard_error",
    "detectable_effect",
    "holm",
    "simulate_study",
]

#: How a claim is tested (recorded with each result).
MODEL = (
    "linear mixed model (statsmodels MixedLM, REML) on per-(run, item) means over sampling seeds: "
    "method fixed; random intercepts for the fine-tuning run (nested in method), the item (crossed) "
    "and item x method; Student t with Satterthwaite df"
)
#: The variance components, in the order of :attr:`MixedComparison.variance`.
COMPONENTS = ("run", "item", "item_method", "residual")


@dataclass(frozen=True)
class MixedComparison:
    """``first`` minus ``second`` on one metric, with the run as the unit of replication."""

    first: str
    second: str
    effect: float
    se: float
    df: float
    ci95_low: float
    ci95_high: float
    p_value: float
    #: smallest |effect| detected with 80 % power at two-sided alpha 0.05
    mde80: float
    runs_first: int
    runs_second: int
    items: int
    #: estimated variance components, keyed by :data:`COMPONENTS`
    variance: dict[str, float]
    converged: bool

    def as_row(self) -> dict:
        """A flat dict for a results table (variance components as ``var_<name>``)."""
        row = asdict(self)
        row.update({f"var_{k}": v for k, v in row.pop("variance").items()})
        return row


def cell_means(per_video: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per (method, run, item): the mean of ``metric`` over sampling seeds.

    ``per_video`` needs columns ``method``, ``run``, ``item`` and ``metric``; rows whose
    ``status`` (when present) is not ``"ok"`` and NaN values are left out. Raises
    ``ValueError`` naming what is missing.
    """
    missing = [c for c in ("method", "run", "item", metric) if c not in per_video]
    if missing:
        raise ValueError(f"per-video table lacks columns {missing}")
    usable = per_video[per_video[metric].notna()]
    if "status" in usable:
        usable = usable[usable["status"] == "ok"]
    grouped = usable.groupby(["method", "run", "item"], sort=True)[metric]
    return grouped.mean().rename("value").reset_index().assign(n_seeds=grouped.size().to_numpy())


def _indicator(codes: np.ndarray) -> np.ndarray:
    levels, index = np.unique(codes, return_inverse=True)
    z = np.zeros((codes.size, levels.size))
    z[np.arange(codes.size), index] = 1.0
    return z


def _design(cells: pd.DataFrame, first: str, fixed: Collection[str]):
    runs = cells["method"].astype(str) + "/" + cells["run"].astype(str)
    random_run = ~cells["method"].isin(list(fixed)).to_numpy()
    z_run = _indicator(runs.to_numpy()) * random_run[:, None]
    z_run = z_run[:, z_run.any(axis=0)]
    z_item = _indicator(cells["item"].astype(str).to_numpy())
    z_item_method = _indicator((cells["item"].astype(str) + "|" + cells["method"].astype(str)).to_numpy())
    x = np.column_stack([np.ones(len(cells)), (cells["method"] == first).to_numpy(float)])
    mats = {"run": z_run, "item": z_item, "item_method": z_item_method}
    return x, {k: v for k, v in mats.items() if v.shape[1]}


def _vc_spec(mats: dict[str, np.ndarray]) -> VCSpec:
    """Crossed effects in statsmodels: every component a block of one single group."""
    names = [[[f"{name}[{j}]" for j in range(z.shape[1])]] for name, z in mats.items()]
    return VCSpec(list(mats), names, [[z] for z in mats.values()])


def _satterthwaite(x: np.ndarray, mats: dict[str, np.ndarray], theta: dict[str, float], scale: float):
    """(se, df) of the second fixed coefficient at variance components ``theta``."""
    n = x.shape[0]
    gram = [z @ z.T for z in mats.values()] + [np.eye(n)]
    values = [theta[k] for k in mats] + [scale]
    v = sum(t * g for t, g in zip(values, gram, strict=True))
    v_inv = np.linalg.inv(v)
    a_inv = np.linalg.inv(x.T @ v_inv @ x)
    c = np.array([0.0, 1.0])
    var_beta = float(c @ a_inv @ c)
    # gradient of var_beta in each variance parameter: c' A^-1 X' V^-1 V_k V^-1 X A^-1 c
    h = v_inv @ x @ a_inv @ c
    grad = np.array([float(h @ g @ h) for g in gram])
    # REML information of the variance parameters: I_jk = tr(P V_j P V_k) / 2
    p = v_inv - v_inv @ x @ a_inv @ x.T @ v_inv
    pg = [p @ g for g in gram]
    info = np.array([[0.5 * float(np.sum(a * b.T)) for b in pg] for a in pg])
    var_var = float(grad @ np.linalg.pinv(info) @ grad)
    df = 2 * var_beta**2 / var_var if var_var > 0 else float(n - x.shape[1])
    return float(np.sqrt(var_beta)), float(np.clip(df, 1.0, n - x.shape[1]))


def design_standard_error(
    cells: pd.DataFrame, first: str, second: str, variance: dict[str, float], fixed: Collection[str] = ("base",)
) -> tuple[float, float]:
    """(standard error, Satterthwaite df) of ``first - second`` for the design of ``cells``
    (its methods, runs and items; values unused) at the variance components ``variance``
    (keys :data:`COMPONENTS`)."""
    data = cells[cells["method"].isin([first, second])].reset_index(drop=True)
    x, mats = _design(data, first, fixed)
    return _satterthwaite(x, mats, {k: variance[k] for k in mats}, variance["residual"])


def detectable_effect(se: float, df: float, power: float = 0.8, alpha: float = 0.05) -> float:
    """The effect a two-sided t-test at level ``alpha`` detects with probability ``power``
    when its estimate has standard error ``se`` and ``df`` degrees of freedom."""
    critical = stats.t.ppf(1 - alpha / 2, df)

    def shortfall(noncentrality: float) -> float:
        # P(T > t_crit) + P(T < -t_crit), the second tail by symmetry (nct's own cdf fails far out)
        upper = stats.nct.sf(critical, df, noncentrality)
        lower = np.nan_to_num(stats.nct.sf(critical, df, -noncentrality))
        return float(upper + lower - power)

    return float(optimize.brentq(shortfall, 0.0, 50.0) * se)


def compare_methods(
    cells: pd.DataFrame, first: str, second: str, fixed: Collection[str] = ("base",)
) -> MixedComparison:
    """Fit the model of this module to the cells of ``first`` and ``second``.

    ``cells`` is :func:`cell_means`'s table. ``fixed`` names methods that are one fixed
    model rather than a sample of fine-tuning runs (the base model); every other method
    needs at least two runs, since one run says nothing about run-to-run variance. Two
    fixed models are compared by the paired t-test over items the model reduces to
    (module docstring). Raises ``ValueError`` before fitting when the design cannot
    answer the question.
    """
    data = cells[cells["method"].isin([first, second])].reset_index(drop=True)
    runs = data.groupby("method")["run"].nunique()
    for method in (first, second):
        if method not in runs:
            raise ValueError(f"no cells for method {method!r}")
        if method not in fixed and runs[method] < 2:
            raise ValueError(f"method {method!r} has {runs[method]} fine-tuning run; the mixed model needs at least 2")
    items = data.groupby("method")["item"].apply(frozenset)
    if items[first] != items[second]:
        raise ValueError(f"{first!r} and {second!r} were not evaluated on the same items")
    if first in fixed and second in fixed:
        return _compare_fixed_models(data, first, second)
    x, mats = _design(data, first, fixed)
    model = MixedLM(data["value"].to_numpy(float), x, groups=np.zeros(len(data)), exog_vc=_vc_spec(mats))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning)
        warnings.filterwarnings("ignore", message=".*boundary.*")
        result = model.fit(reml=True, method=["lbfgs", "powell"])
    converged = bool(result.converged) and not any(issubclass(w.category, ConvergenceWarning) for w in caught)
    theta = {k: max(float(s), 0.0) for k, s in zip(mats, np.atleast_1d(result.vcomp), strict=True)}
    scale = float(result.scale)
    se, df = _satterthwaite(x, mats, theta, scale)
    effect = float(result.fe_params[1])
    half = float(stats.t.ppf(0.975, df)) * se
    p_value = float(2 * stats.t.sf(abs(effect) / se, df)) if se > 0 else float("nan")
    variance = {k: theta.get(k, 0.0) for k in COMPONENTS[:-1]} | {"residual": scale}
    return MixedComparison(
        first=first,
        second=second,
        effect=effect,
        se=se,
        df=df,
        ci95_low=effect - half,
        ci95_high=effect + half,
        p_value=p_value,
        mde80=detectable_effect(se, df),
        runs_first=int(runs[first]),
        runs_second=int(runs[second]),
        items=int(data["item"].nunique()),
        variance=variance,
        converged=converged,
    )


def _compare_fixed_models(data: pd.DataFrame, first: str, second: str) -> MixedComparison:
    """Two fixed models: the paired t-test over items on per-item mean differences."""
    if data.groupby("method")["run"].nunique().max() > 1:
        raise ValueError(f"{first!r} and {second!r} are fixed models but have several runs")
    wide = data.pivot_table(index="item", columns="method", values="value")
    diff = (wide[first] - wide[second]).to_numpy(float)
    n = diff.size
    if n < 2:
        raise ValueError(f"{first!r} and {second!r} share {n} item; a paired test needs at least 2")
    effect, df = float(diff.mean()), float(n - 1)
    se = float(diff.std(ddof=1) / np.sqrt(n))
    half = float(stats.t.ppf(0.975, df)) * se
    p_value = float(2 * stats.t.sf(abs(effect) / se, df)) if se > 0 else float("nan")
    pair_mean = ((wide[first] + wide[second]) / 2).to_numpy(float)
    within = float(diff.var(ddof=1) / 2)  # item x method and residual together: not separable here
    variance = {"run": 0.0, "item": max(float(pair_mean.var(ddof=1)) - within / 2, 0.0), "item_method": 0.0}
    return MixedComparison(
        first=first,
        second=second,
        effect=effect,
        se=se,
        df=df,
        ci95_low=effect - half,
        ci95_high=effect + half,
        p_value=p_value,
        mde80=detectable_effect(se, df),
        runs_first=1,
        runs_second=1,
        items=n,
        variance=variance | {"residual": within},
        converged=True,
    )


def holm(p_values: Sequence[float]) -> np.ndarray:
    """Holm's step-down adjusted p-values (statsmodels ``multipletests``); NaN stays NaN."""
    p = np.asarray(p_values, dtype=float)
    adjusted = np.full(p.shape, np.nan)
    finite = np.isfinite(p)
    if finite.any():
        adjusted[finite] = multipletests(p[finite], method="holm")[1]
    return adjusted


def simulate_study(
    rng: np.random.Generator,
    *,
    effect: float,
    runs: int = 3,
    items: int = 20,
    seeds: int = 3,
    sd_run: float = 1.0,
    sd_item: float = 1.0,
    sd_item_method: float = 0.5,
    sd_seed: float = 1.0,
    second_fixed: bool = False,
) -> pd.DataFrame:
    """A per-video table drawn from this module's model with known components.

    Method ``"a"`` has ``runs`` fine-tuning runs; method ``"b"`` has as many, or is one
    fixed model (``second_fixed``, like the base model). Each run is scored on every
    item with ``seeds`` sampling seeds; ``a`` exceeds ``b`` by ``effect`` on average.
    For tests of coverage and false-positive rate, and to size a study.
    """
    item_effect = rng.normal(0, sd_item, items)
    rows = []
    for method, shift, n_runs in (("a", effect, runs), ("b", 0.0, 1 if second_fixed else runs)):
        item_method = rng.normal(0, sd_item_method, items)
        for r in range(n_runs):
            run_effect = 0.0 if (method == "b" and second_fixed) else rng.normal(0, sd_run)
            for i in range(items):
                values = shift + run_effect + item_effect[i] + item_method[i] + rng.normal(0, sd_seed, seeds)
                rows += [{"method": method, "run": r, "item": i, "seed": s, "value": v} for s, v in enumerate(values)]
    return pd.DataFrame(rows)
