"""The README shows the pipeline's computed tables, never typed-in numbers.

Every ``<!-- BEGIN <path> -->...<!-- END <path> -->`` block of the README is replaced
by the current content of ``<path>``, a table the pipeline wrote; a test checks that
the README is in sync. Refresh it after ``dvc repro`` with::

    python -m vcd.readme            # README.md of the repository
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .files import write_text
from .layout import Layout

__all__ = ["BLOCK", "sync_readme"]

#: An embedded block: its opening marker names the file it shows.
BLOCK = re.compile(r"(<!-- BEGIN (?P<path>\S+) -->\n)(.*?)(<!-- END (?P=path) -->)", re.S)


def sync_readme(readme: str | Path, root: str | Path) -> list[str]:
    """Replace each embedded block of ``readme`` with its file's content (paths relative
    to ``root``); returns the paths synced."""
    readme = Path(readme)
    text = readme.read_text(encoding="utf-8")
    synced: list[str] = []

    def replace(match: re.Match) -> str:
        path = Path(root) / match.group("path")
        synced.append(match.group("path"))
        return match.group(1) + path.read_text(encoding="utf-8").rstrip("\n") + "\n" + match.group(4)

    write_text(readme, BLOCK.sub(replace, text))
    return synced


def _main(argv: list[str] | None = None) -> int:
    layout = Layout.discover()
    args = sys.argv[1:] if argv is None else argv
    done = sync_readme(args[0] if args else layout.readme, layout.root)
    print(f"synced {len(done)} table(s): {', '.join(done)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
