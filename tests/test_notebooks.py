"""Notebooks: paired with jupytext, parameterised, orchestration only.

"Orchestration only" is checked, not trusted: a notebook defines no functions or
classes, draws no figure by hand (``vcd.figures`` does), runs no nested loop (the
package does the work), and types in no measured or reported number (the paper's come
from ``data/paper/results.yaml``, this run's from the pipeline's outputs).
"""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import jupytext
import pytest

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
#: figure drawing a notebook may do: show what a vcd.figures function returned
_ALLOWED_PLT = {"show", "close"}


def _code(path: Path) -> list[ast.AST]:
    nb = json.loads(path.read_text())
    return [ast.parse("".join(c["source"])) for c in nb["cells"] if c["cell_type"] == "code"]


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
    assert cells(ipynb) == cells(percent), (
        f"{path.name} and its .py differ: run `jupytext --sync notebooks/{path.stem}.py`"
    )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_runnable_by_papermill(path):
    nb = json.loads(path.read_text())
    assert nb["metadata"]["kernelspec"]["name"] == "python3"
    assert nb["metadata"]["kernelspec"]["language"] == "python"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    tagged = [c for c in code if "parameters" in c.get("metadata", {}).get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assert "params_file = None" in "".join(tagged[0]["source"])  # the layout's params.yaml unless papermill passes one
    assert all(not c.get("outputs") for c in code), "commit notebooks without outputs"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_only_orchestrates(path):
    for tree in _code(path):
        defined = [
            n.name
            for n in ast.walk(tree)
            if isinstance(n, (ast.FunctionDef, ast.ClassDef, ast.Lambda))
            if hasattr(n, "name")
        ]
        assert not defined, f"{path.name} defines {defined}: logic belongs in the vcd package"
        assert not any(isinstance(n, ast.Lambda) for n in ast.walk(tree)), f"{path.name} defines a lambda"
        for node in ast.walk(tree):
            if isinstance(node, (ast.For, ast.While)):
                inner = [n for n in ast.walk(node) if isinstance(n, (ast.For, ast.While)) and n is not node]
                assert not inner, f"{path.name}:{node.lineno} nests loops: move the loop into the package"
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                assert not (node.value.id == "plt" and node.attr not in _ALLOWED_PLT), (
                    f"{path.name}:{node.lineno} draws with plt.{node.attr}: figures belong in vcd.figures"
                )
                assert node.value.id not in ("ax", "axes", "fig"), (
                    f"{path.name}:{node.lineno} draws on a figure by hand"
                )
            if isinstance(node, ast.Constant) and isinstance(node.value, float):
                raise AssertionError(f"{path.name}:{node.lineno} types in the number {node.value}")
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and re.search(r"\d+\.\d+", node.value):
                raise AssertionError(f"{path.name}:{node.lineno} types in a number in text: {node.value!r}")


def test_the_orchestration_check_catches_what_it_is_for(tmp_path):
    """The rules fire on the patterns they are meant to catch."""
    cases = {
        "grid": "fig, axes = plt.subplots(2, 2)\n",
        "loop": "for a in x:\n    for b in a:\n        pass\n",
        "caption": "caption = 'paper: 17.56% for +VCD'\n",
        "number": "threshold = 0.05\n",
    }
    for name, source in cases.items():
        nb = {
            "cells": [{"cell_type": "code", "source": [source], "metadata": {}, "outputs": []}],
            "metadata": {},
            "nbformat": 4,
            "nbformat_minor": 5,
        }
        path = tmp_path / f"{name}.ipynb"
        path.write_text(json.dumps(nb))
        with pytest.raises(AssertionError):
            test_notebook_only_orchestrates(path)
