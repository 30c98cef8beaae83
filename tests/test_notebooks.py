"""Notebooks: paired with jupytext, parameterised, orchestration only."""

from __future__ import annotations

import ast
import json
from pathlib import Path

import jupytext
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_every_notebook_has_a_percent_twin():
    assert NOTEBOOKS, "no notebooks found"
    for nb in NOTEBOOKS:
        assert nb.with_suffix(".py").is_file(), f"{nb.name} has no jupytext .py twin"
    for py in (REPO / "notebooks").glob("*.py"):
        assert py.with_suffix(".ipynb").is_file(), f"{py.name} has no .ipynb (run `make sync-notebooks`)"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_matches_its_twin(path):
    ipynb = jupytext.read(path)
    percent = jupytext.read(path.with_suffix(".py"))
    cells = lambda nb: [(c.cell_type, c.source.strip()) for c in nb.cells]  # noqa: E731
    assert cells(ipynb) == cells(percent), f"{path.name} and its .py differ: run `jupytext --sync notebooks/{path.stem}.py`"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_runnable_by_papermill_and_only_orchestrates(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert nb["metadata"]["kernelspec"]["language"] == "python"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assert "params_file" in "".join(tagged[0]["source"])
    assert all(not c.get("outputs") for c in code), "commit notebooks without outputs"
    for cell in code:
        tree = ast.parse("".join(cell["source"]))
        defined = [n.name for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]
        assert not defined, f"{path.name} defines {defined}: logic belongs in the vcd package"
