"""Wall time of every pipeline stage, read from the executed notebooks' papermill
metadata (papermill records each run's duration), as a Markdown table.

    python benchmarks/stage_times.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    sys.path.insert(0, str(REPO))
    from vcd.layout import Layout

    layout = Layout(REPO)
    executed = sorted(layout.executed_notebook("*").parent.glob("*.ipynb")) + sorted(
        layout.runs_dir.glob("*/*/*.ipynb")
    )
    rows, total = [], 0.0
    for path in executed:
        meta = json.loads(path.read_text()).get("metadata", {}).get("papermill", {})
        duration = meta.get("duration")
        if duration is None:
            continue
        total += duration
        rows.append((str(path.relative_to(REPO)), duration))
    print("| executed notebook | wall time |\n|---|---|")
    for name, seconds in rows:
        print(f"| `{name}` | {seconds:.0f} s |")
    print(f"| **total (notebook execution)** | **{total / 60:.1f} min** |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
