"""Two studies of the same code with different study seeds, claim by claim, as Markdown.

The report stage compares the committed study with every rerun in
``data/study_reruns/`` of the *checkout's* code (``vcd.study``); once the code moves
on, an older pair can no longer be compared there. This script compares two claims
files directly with the report's rule (a claim's verdict is its run-level
``reproduced``; it is reproduced in both studies only if both say so), and keeps the
pair's table:

    python benchmarks/study_seeds.py --label fd9fcbf \\
        --first <(git show 73772c9:results/claims.json) \\
        --second data/study_reruns/study-seed-1/claims.json --out study_seeds_fd9fcbf.md

Beside each verdict: the effect and Holm-adjusted p-value, so a claim that keeps its
verdict only because it is inconclusive in both is visible as such.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def _cell(claim: dict) -> str:
    if not claim.get("tested"):
        return "not tested"
    verdict = "reproduced" if claim["reproduced"] else "not reproduced"
    return f"{claim['effect']:+.4f} (Holm p {claim['p_holm']:.3f}) {verdict}"


def table(first: list[dict], second: list[dict], names: tuple[str, str], label: str) -> str:
    """Markdown: per claim, both studies' run-level results and whether the verdicts agree."""
    by_id = {c["id"]: c for c in second}
    lines = [
        f"Claims of two studies of code `{label}` (study seeds {names[0]} and {names[1]}; the run-level test, "
        "Holm-adjusted within each table). Verdict: `reproduced` (the claimed direction, significant; for "
        "'not worse', no significant degradation).",
        "",
        f"| claim | metric | {names[0]} | {names[1]} | same verdict |",
        "|---|---|---|---|---|",
    ]
    same = compared = both = 0
    for claim in first:
        other = by_id.get(claim["id"])
        if other is None:
            lines.append(f"| {claim['id']} | {claim['metric']} | {_cell(claim)} | missing | - |")
            continue
        agree = bool(claim["tested"] and other["tested"] and claim["reproduced"] == other["reproduced"])
        compared += 1
        same += agree
        both += bool(agree and claim["reproduced"])
        lines.append(
            f"| {claim['id']} | {claim['metric']} | {_cell(claim)} | {_cell(other)} | {'yes' if agree else 'no'} |"
        )
    lines += [
        "",
        f"Same verdict in {same} of {compared} claims ({100 * same / max(compared, 1):.0f} %); "
        f"reproduced in both: {both}.",
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--first", required=True, help="claims.json of the first study (study seed 0)")
    parser.add_argument("--second", required=True, help="claims.json of the rerun")
    parser.add_argument("--names", nargs=2, default=("0", "1"), help="the two studies' seeds")
    parser.add_argument("--label", required=True, help="the code version both studies ran")
    parser.add_argument("--out", required=True, help="file name under benchmarks/results/")
    args = parser.parse_args(argv)
    text = table(
        json.loads(Path(args.first).read_text()), json.loads(Path(args.second).read_text()), args.names, args.label
    )
    (RESULTS / args.out).write_text(text)
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
