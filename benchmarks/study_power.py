"""How many fine-tuning runs does the study need? Run-to-run variance from two committed
runs of the default profile, and the smallest effect each claim could detect with more.

The study issue replaces the paper's protocol (five sampling seeds of one fine-tuned
model) with several runs per method and a mixed model (:mod:`vcd.mixed_effects`). Until
the pipeline trains several run seeds, the repository holds two runs per method that
differ in one thing only: the CPU they ran on (same code, base model, parameters and
seeds; README, "The same code on two machines"). This script treats the two as two runs
of each fine-tuned method, fits every claim with :func:`vcd.claims.evaluate_claims_mixed`
and, from the fitted variance components, the 80 %-power detectable effect of designs
with more runs (:func:`vcd.mixed_effects.design_standard_error`).

Two machines with the same seeds are *not* two run seeds: a different seed also changes
the LoRA initialisation, the data order, the frame choice and the sampling noise, so the
run variance here is a lower bound and the detectable effects are optimistic.

    python benchmarks/study_power.py [--runs REV=LABEL ...]
    # -> benchmarks/results/study_power.{json,md}
"""

from __future__ import annotations

import argparse
import io
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: git revision holding a run's results/per_video_metrics.csv -> the code the run was made with
DEFAULT_RUNS = ("b7feb08=ef00878", "3c011d0=b7feb08")


def _per_video(rev: str):
    import pandas as pd

    text = subprocess.run(
        ["git", "show", f"{rev}:results/per_video_metrics.csv"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    return pd.read_csv(io.StringIO(text))


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO))
    import pandas as pd

    from vcd.claims import evaluate_claims_mixed
    from vcd.files import write_json, write_text
    from vcd.layout import Layout
    from vcd.mixed_effects import COMPONENTS, design_standard_error, detectable_effect
    from vcd.provenance import code_version
    from vcd.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--runs", nargs="+", default=list(DEFAULT_RUNS), help="REV=LABEL: results at REV, made by LABEL"
    )
    parser.add_argument("--designs", type=int, nargs="+", default=[3, 5, 8], help="runs per method to size for")
    parser.add_argument("--output", type=Path, default=REPO / "benchmarks/results/study_power.json")
    args = parser.parse_args(argv)

    frames = []
    for spec in args.runs:
        rev, _, label = spec.partition("=")
        frames.append(_per_video(rev).assign(run=label or rev))
    per_video = pd.concat(frames, ignore_index=True)
    datasets = sorted(per_video.dataset.unique())
    baseline = Settings.load(Layout(REPO).params_file).methods.baseline
    rows = []
    for r in evaluate_claims_mixed(per_video, datasets, baseline):
        row = {k: r[k] for k in ("id", "metric", "comparison", "tested", "note")}
        if r["tested"]:
            variance = {k: r[f"var_{k}"] for k in COMPONENTS}
            row |= {k: r[k] for k in ("effect", "ci95_low", "ci95_high", "p_value", "p_holm", "mde80", "reproduced")}
            row |= {"variance": variance}
            first, second = r["first"], r["second"]
            for runs in args.designs:
                template = _template(first, second, runs, r["items"])
                row[f"mde80_{runs}_runs"] = detectable_effect(*design_standard_error(template, first, second, variance))
        rows.append(row)

    report = {
        "code": code_version(REPO),
        "runs": args.runs,
        "baseline": baseline,
        "datasets": datasets,
        "unit": "fine-tuning run (here: the same run on two CPUs, a lower bound on run-to-run variance)",
        "rows": rows,
    }
    write_json(args.output, report)
    text = markdown(report, args.designs)
    write_text(args.output.with_suffix(".md"), text)
    print(text)
    return 0


def _template(first: str, second: str, runs: int, items: int):
    """A design of ``runs`` runs per fine-tuned method (the base model stays one) on
    ``items`` items; values are unused by :func:`design_standard_error`."""
    import pandas as pd

    from vcd.methods import BASE

    rows = [
        {"method": m, "run": r, "item": i, "value": 0.0}
        for m in (first, second)
        for n_runs in [1 if m == BASE else runs]
        for r in range(n_runs)
        for i in range(items)
    ]
    return pd.DataFrame(rows)


def markdown(report: dict, designs: list[int]) -> str:
    lines = [
        "Run-level statistics of the default profile's claims (embedded toy setup, NOT the paper's numbers; "
        "`benchmarks/study_power.py`). Runs: "
        + ", ".join(f"`{s.split('=')[1]}`" for s in report["runs"])
        + " -- the same code, base model and seeds on two CPUs, used as two runs per fine-tuned method: a lower "
        "bound on run-to-run variance. Mixed model of `vcd/mixed_effects.py` (run nested in method, item and item x "
        "method crossed, Satterthwaite t); p Holm-adjusted over the 16 claims; sd = square root of a variance "
        "component; detectable = effect found with 80 % power at two-sided 0.05 by a design of R runs per "
        "fine-tuned method on the same 40 items, at these variance components.",
        "",
        "| claim | metric | effect [95 % CI] | p (Holm) | holds | sd run | sd item x method | sd residual | "
        + " | ".join(f"detectable, {r} runs" for r in designs)
        + " |",
        "|---|---|---|---|---|---|---|---|" + "---|" * len(designs),
    ]
    for r in report["rows"]:
        if not r["tested"]:
            lines.append(f"| {r['id']} | {r['metric']} | not tested: {r['note']} |" + " |" * (5 + len(designs)))
            continue
        v = r["variance"]
        sd = {k: v[k] ** 0.5 for k in v}
        lines.append(
            f"| {r['id']} | {r['metric']} | {r['effect']:+.3g} [{r['ci95_low']:+.3g}, {r['ci95_high']:+.3g}] | "
            f"{r['p_holm']:.2g} | {'**yes**' if r['reproduced'] else 'no'} | {sd['run']:.3g} | "
            f"{sd['item_method']:.3g} | {sd['residual']:.3g} | "
            + " | ".join(f"{r[f'mde80_{n}_runs']:.3g}" for n in designs)
            + " |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
