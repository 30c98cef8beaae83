"""The claims table of the default profile across code versions, as Markdown.

Each file in ``benchmarks/results/claims_by_code_version/`` is the ``results/claims.json``
of a full ``make repro`` from a fresh clone of that commit (named by its short hash;
its provenance is in the run's ``provenance.json``). Same code and params give the
same numbers; these versions differ in floating-point details of pre-training and
fine-tuning, so the table shows how much the toy setup's conclusions depend on them.

    python benchmarks/claims_by_code_version.py fc07ceb c8c70cd 71b1467 4ee71de 51cb636 e96e80a

writes ``benchmarks/results/claims_by_code_version.md`` (shown in the README) and prints it;
``--out NAME.md`` writes another table, for example the same code on two machines:

    python benchmarks/claims_by_code_version.py --out claims_two_machines.md ef00878 b7feb08
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

FOLDER = Path(__file__).resolve().parent / "results" / "claims_by_code_version"


def table(versions: list[str]) -> str:
    """Markdown: per claim, each version's effect, p-value and outcome."""
    runs = {v: {c["id"]: c for c in json.loads((FOLDER / f"{v}.json").read_text())} for v in versions}
    ids = list(next(iter(runs.values())))
    lines = [
        "| claim | metric | " + " | ".join(f"`{v}`: effect (p)" for v in versions) + " | held in |",
        "|---|---|" + "---|" * len(versions) + "---|",
    ]
    for cid in ids:
        first = runs[versions[0]][cid]
        cells = []
        for v in versions:
            c = runs[v][cid]
            mark = "**held**" if c["reproduced"] else "not"
            cells.append(f"{mark}: {c['effect']:+.3g} ({c['p_value']:.2g})")
        held = sum(runs[v][cid]["reproduced"] for v in versions)
        lines.append(f"| {cid} | {first['metric']} | " + " | ".join(cells) + f" | {held} / {len(versions)} |")
    totals = " | ".join(f"{sum(c['reproduced'] for c in runs[v].values())} of {len(ids)}" for v in versions)
    lines.append(f"| **all** | | {totals} | |")
    same = sum(len({runs[v][cid]["reproduced"] for v in versions}) == 1 for cid in ids)
    lines.append(f"| **same verdict in every column** | | {same} of {len(ids)} |" + " |" * len(versions))
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    out = "claims_by_code_version.md"
    if argv[:1] == ["--out"]:
        out, argv = argv[1], argv[2:]
    versions = argv or sorted(p.stem for p in FOLDER.glob("*.json"))
    text = table(versions)
    (FOLDER.parent / out).write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
