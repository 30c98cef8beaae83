"""The README shows the pipeline's computed tables, not typed-in numbers."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_readme_result_tables_match_the_pipeline_outputs():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"<!-- BEGIN (\S+) -->\n(.*?)<!-- END \1 -->", text, re.S)
    assert blocks, "the README embeds no result tables"
    for path, content in blocks:
        source = REPO / path
        assert source.is_file(), f"README embeds {path}, which the pipeline has not written"
        assert content.strip() == source.read_text(encoding="utf-8").strip(), (
            f"README copy of {path} is stale: run `python -m vcd.readme`"
        )


def test_readme_documents_the_two_commands_and_ci_calls_make_test():
    text = (REPO / "README.md").read_text(encoding="utf-8")
    assert "make repro" in text and "make test" in text
    assert "make test" in (REPO / ".ci" / "run").read_text()
