"""The package's shape: no import cycle, one owner of paths, settings only through typed
objects, dvc.yaml's package dependencies generated from the import graph."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from vcd.layout import Layout
from vcd.pipeline import module_imports, stage_dependencies

REPO = Path(__file__).resolve().parents[1]
PACKAGE = sorted((REPO / "vcd").glob("*.py"))
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))

_FOLDERS = ("data", "results", "runs", "models", "notebooks", "profiles", "benchmarks", "scripts", "tests", "vcd")
_EXTENSIONS = (
    "json",
    "csv",
    "png",
    "jpg",
    "md",
    "yaml",
    "yml",
    "safetensors",
    "mp4",
    "ipynb",
    "pt",
    "pth",
    "tex",
    "txt",
    "py",
    "toml",
    "lock",
)
#: names other tools define inside their own folders (diffusers' pipeline index)
_FOREIGN = {"model_index.json"}


def _code_of(path: Path) -> ast.AST:
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return ast.parse("\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code"))
    return ast.parse(path.read_text(encoding="utf-8"))


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            first = node.body[0]
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                ids.add(id(first.value))
    return ids


def _is_path_literal(text: str) -> bool:
    if any(ch.isspace() for ch in text) or text.startswith((".", "*", "http", "pkg://")) or text in _FOREIGN:
        return False
    if re.match(rf"^({'|'.join(_FOLDERS)})/", text):
        return True
    return bool(re.search(rf"\.({'|'.join(_EXTENSIONS)})$", text, re.I))


def _strings(tree: ast.AST):
    skip = _docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node.lineno, node.value


def test_the_path_literal_check_catches_paths():
    assert _is_path_literal("data/splits") and _is_path_literal("run_info.json") and not _is_path_literal("results")
    assert (
        not _is_path_literal("set it in params.yaml") and not _is_path_literal(".md") and not _is_path_literal("*.py")
    )


@pytest.mark.parametrize("path", [p for p in PACKAGE if p.name != "layout.py"] + NOTEBOOKS, ids=lambda p: p.name)
def test_no_path_literal_outside_the_layout_module(path):
    found = [(line, text) for line, text in _strings(_code_of(path)) if _is_path_literal(text)]
    assert not found, f"{path.name} spells out paths (ask vcd.layout.Layout for them): {found}"


@pytest.mark.parametrize(
    "path", [p for p in PACKAGE if p.name not in ("config.py", "settings.py")] + NOTEBOOKS, ids=lambda p: p.name
)
def test_settings_reach_the_package_only_as_typed_objects(path):
    tree = _code_of(path)
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("config"):
            assert "load_params" not in {a.name for a in node.names}, f"{path.name} reads params.yaml raw"
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name):
            assert node.value.id not in ("params", "cfg"), f"{path.name}:{node.lineno} indexes a raw params dict"
        if isinstance(node, ast.Attribute) and node.attr == "get" and isinstance(node.value, ast.Name):
            assert node.value.id not in ("params", "cfg"), (
                f"{path.name}:{node.lineno} reads a raw params dict with .get"
            )


def test_the_import_graph_has_no_cycle():
    graph = module_imports(REPO / "vcd")
    state: dict[str, int] = {}

    def visit(name: str, trail: list[str]) -> None:
        if state.get(name) == 2:
            return
        assert state.get(name) != 1, f"import cycle: {' -> '.join([*trail, name])}"
        state[name] = 1
        for other in sorted(graph.get(name, ())):
            visit(other, [*trail, name])
        state[name] = 2

    for module in sorted(graph):
        visit(module, [])


def test_leaf_modules_import_nothing_heavy():
    """The launcher validates settings before a kernel starts; settings and what they use
    must not pull in torch."""
    for name in ("settings", "layout", "columns", "methods", "files", "config"):
        tree = _code_of(REPO / "vcd" / f"{name}.py")
        top = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
        imported = {a.name.split(".")[0] for n in top if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module.split(".")[0] for n in top if isinstance(n, ast.ImportFrom) and n.module and not n.level}
        assert not imported & {"torch", "diffusers", "transformers", "pandas", "matplotlib"}, name


def test_dvc_yaml_lists_exactly_the_modules_each_stage_imports():
    stale = {
        name: (sorted(set(listed) ^ set(wanted)))
        for name, (listed, wanted) in stage_dependencies(Layout(REPO)).items()
        if listed != wanted
    }
    assert not stale, (
        f"dvc.yaml's package dependencies differ from the imports: {stale}; run `python -m vcd.pipeline deps --write`"
    )


def test_stage_dependencies_follow_function_level_imports(tmp_path):
    """A module imported inside a function is a dependency too (it runs when called)."""
    graph = module_imports(REPO / "vcd")
    assert "vcd.video_metrics" in graph["vcd.evaluation"]  # imported inside score_videos
    assert "vcd.metric" not in graph["vcd.settings"]
