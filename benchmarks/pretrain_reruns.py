"""Does `make pretrain` train a model that meets the testbed targets again? The targets
of several pre-training runs side by side.

Each run is a checkout where `make pretrain` and `dvc repro base_check` ran (this
repository, a fresh clone, another machine). Its base-model check and training record
are copied into ``benchmarks/results/pretrain_reruns/<label>/`` so that the table can
be rebuilt from committed files, then tabulated:

    python benchmarks/pretrain_reruns.py --run shipped=. --run "fresh clone=/tmp/clone"
    python benchmarks/pretrain_reruns.py             # rebuild the table from the stored copies

-> benchmarks/results/pretrain_reruns.md
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STORE = REPO / "benchmarks/results/pretrain_reruns"


def main(argv: list[str] | None = None) -> int:
    sys.path.insert(0, str(REPO))
    from vcd.drift import testbed_targets
    from vcd.files import write_text
    from vcd.layout import Layout

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--run", action="append", default=[], help="LABEL=CHECKOUT (repeatable)")
    args = parser.parse_args(argv)
    for spec in args.run:
        label, _, folder = spec.partition("=")
        layout = Layout(Path(folder).resolve())
        target = STORE / label
        target.mkdir(parents=True, exist_ok=True)
        shutil.copy(layout.pretrain.metrics, target / "metrics.json")
        shutil.copy(layout.base_model_record, target / "training.json")
    runs = sorted(p for p in STORE.glob("*") if (p / "metrics.json").is_file())
    if not runs:
        print("no stored runs: pass --run LABEL=CHECKOUT", file=sys.stderr)
        return 2
    tables = {}
    for folder in runs:
        metrics = json.loads((folder / "metrics.json").read_text())
        training = json.loads((folder / "training.json").read_text())
        tables[folder.name] = (testbed_targets(metrics["drift"]), training)
    first = next(iter(tables.values()))[0]
    header = "| target | wanted | " + " | ".join(tables) + " |"
    lines = [
        "The testbed targets (vcd/drift.py) of each pre-training run (`make pretrain` then the base model check; "
        "embedded default profile, toy model, not the paper's numbers). ✓ met, ✗ not met.",
        "",
        header,
        "|---|---|" + "---|" * len(tables),
    ]
    for i, row in first.iterrows():
        cells = []
        for table, _ in tables.values():
            value, met = table.loc[i, "value"], table.loc[i, "met"]
            cells.append(f"{value:.3f} {'✓' if met else '✗'}")
        lines.append(f"| {row.target} | {row.wanted} | " + " | ".join(cells) + " |")
    minutes = [f"{training['seconds'] / 60:.1f} min" for _, training in tables.values()]
    lines.append("| pre-training time | | " + " | ".join(minutes) + " |")
    cpus = [training.get("machine", {}).get("cpu", "?") for _, training in tables.values()]
    lines.append("| machine | | " + " | ".join(cpus) + " |")
    commits = [training["provenance"]["code"].get("commit", "?")[:7] for _, training in tables.values()]
    lines.append("| code | | " + " | ".join(f"`{c}`" for c in commits) + " |")
    write_text(REPO / "benchmarks/results/pretrain_reruns.md", "\n".join(lines) + "\n")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
