"""The DVC pipeline's stages: run one (a notebook executed by papermill), and know
which package modules each one depends on.

    python -m vcd.pipeline run notebooks/01_data_split.ipynb results/notebooks/01_data_split.ipynb
    python -m vcd.pipeline deps            # check dvc.yaml's package dependencies
    python -m vcd.pipeline deps --write    # rewrite them from the import graph

``run`` checks ``params.yaml`` as typed settings *before* the kernel starts (a typo
fails in a second, not after minutes of work), sets the Hugging Face offline
switches (they are read at import time), creates the output folder (papermill does
not), runs the kernel from the repository root, and exits non-zero if a cell fails
(papermill still writes the executed notebook for debugging).

``deps``: a stage depends on the package modules its notebook imports, and on what
those import, transitively (and on this launcher's own). They are computed from the
import statements, so ``dvc.yaml`` cannot drift from the code; a test runs the check.
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import sys
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import yaml

from .config import set_offline
from .layout import Layout

__all__ = [
    "run_notebook",
    "module_imports",
    "notebook_modules",
    "package_dependencies",
    "stage_dependencies",
    "write_stage_dependencies",
]

PACKAGE = "vcd"


def run_notebook(
    layout: Layout,
    notebook: str | Path,
    output: str | Path,
    parameters: Mapping[str, Any] | None = None,
    params_file: str | Path | None = None,
) -> Path:
    """Execute ``notebook`` with papermill into ``output`` (kernel ``python3``)."""
    from .settings import Settings

    settings = Settings.load(params_file or layout.params_file)  # fails here, before any work, on a bad setting
    set_offline(settings.runtime.offline)
    # papermill -> nbformat -> jsonschema imports rfc3987_syntax if installed (it comes
    # with jupyterlab), which builds a grammar at import, only to check the "iri" string
    # formats that notebook validation never uses. Marked absent here, in this launcher
    # process only, jsonschema skips those two format checks (README, Performance).
    sys.modules.setdefault("rfc3987_syntax", None)
    import papermill

    # glibc returns large freed blocks to the OS at once, so every big tensor pays page
    # faults again; keeping them in the heap saves system time (README, Performance).
    # Inherited by the kernel process.
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        os.environ.setdefault(name, str(1 << 32))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    values = dict(parameters or {})
    if params_file is not None:
        values["params_file"] = str(params_file)
    papermill.execute_notebook(
        str(notebook),
        str(output),
        parameters=values,
        kernel_name="python3",
        cwd=str(layout.root),
        progress_bar=False,
        log_output=bool(os.environ.get("VCD_LOG_NOTEBOOK_OUTPUT")),
    )
    return output


# ---------------------------------------------------------------------------- dependencies
def _imported_modules(tree: ast.AST, current: str | None = None) -> set[str]:
    """``vcd.<module>`` names imported anywhere in ``tree`` (function-level imports too)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names if alias.name.split(".")[0] == PACKAGE}
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: from .x import y / from . import x
                base = PACKAGE
                if node.module:
                    found.add(f"{base}.{node.module}")
                else:
                    found |= {f"{base}.{alias.name}" for alias in node.names}
            elif node.module and node.module.split(".")[0] == PACKAGE:
                if node.module == PACKAGE:
                    found |= {f"{PACKAGE}.{alias.name}" for alias in node.names}
                found.add(node.module)
    return {name for name in found if name != current}


def _module_name(path: Path) -> str:
    """``vcd/x.py`` -> ``vcd.x``; the package's ``__init__`` -> ``vcd``."""
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


def module_imports(package_dir: Path) -> dict[str, set[str]]:
    """The package's import graph: module -> the package modules it imports.

    ``from vcd import X`` imports ``vcd/__init__.py`` and, when ``X`` is one of its lazy
    attributes (``_HOME``), the module that defines it.
    """
    from . import _HOME

    names = {_module_name(p): p for p in sorted(package_dir.glob("*.py"))}
    lazy = {f"{PACKAGE}.{attr}": f"{PACKAGE}.{module}" for attr, module in _HOME.items()}

    def resolve(name: str) -> set[str]:
        if name in names:
            return {name}
        if name in lazy:
            return {PACKAGE, lazy[name]}
        return {PACKAGE}  # another attribute of the package itself

    graph = {}
    for name, path in names.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        graph[name] = {m for raw in _imported_modules(tree, name) for m in resolve(raw)} - {name}
    return graph


def notebook_modules(notebook: Path, package_dir: Path) -> set[str]:
    """The package modules a notebook's code cells import (with the package itself)."""
    cells = json.loads(notebook.read_text(encoding="utf-8"))["cells"]
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    known = {_module_name(p) for p in package_dir.glob("*.py")} - {PACKAGE}
    from . import _HOME

    found = {PACKAGE}
    for name in _imported_modules(ast.parse(code)):
        attr = name.split(".", 1)[-1]
        found |= {name} if name in known else {f"{PACKAGE}.{_HOME[attr]}"} if attr in _HOME else set()
    return found


def _closure(start: Iterable[str], graph: Mapping[str, set[str]]) -> set[str]:
    seen, todo = set(), list(start)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        if name not in graph:
            raise KeyError(f"{name} is imported but is not a module of the package")
        seen.add(name)
        todo += graph[name]
    return seen


def package_dependencies(layout: Layout, notebook: Path) -> list[str]:
    """The package files a stage running ``notebook`` depends on (paths relative to the
    root): every module it imports, transitively, and those of this launcher."""
    graph = module_imports(layout.package_dir)
    modules = _closure(
        notebook_modules(notebook, layout.package_dir) | {f"{PACKAGE}.pipeline", f"{PACKAGE}.settings"}, graph
    )
    files = {p for p in layout.package_dir.glob("*.py") if _module_name(p) in modules}
    return sorted(layout.relative(p) for p in files)


def _stage_notebook(stage: Mapping[str, Any], layout: Layout) -> Path | None:
    notebooks = {layout.relative(p): p for p in layout.notebooks.glob("*.ipynb")}
    return next((notebooks[word] for word in str(stage.get("cmd", "")).split() if word in notebooks), None)


def _is_package_file(dep: Any, layout: Layout) -> bool:
    return isinstance(dep, str) and (layout.root / dep).parent == layout.package_dir


def stage_dependencies(layout: Layout) -> dict[str, tuple[list[str], list[str]]]:
    """Per stage of ``dvc.yaml``: (package files it lists, package files it should list)."""
    stages = yaml.safe_load(layout.dvc_file.read_text(encoding="utf-8"))["stages"]
    out = {}
    for name, stage in stages.items():
        notebook = _stage_notebook(stage, layout)
        if notebook is None:
            continue
        listed = [d for d in stage.get("deps", []) if _is_package_file(d, layout)]
        out[name] = (listed, package_dependencies(layout, notebook))
    return out


def write_stage_dependencies(layout: Layout) -> list[str]:
    """Rewrite the package files of every stage's ``deps`` in ``dvc.yaml`` (comments
    kept); returns the stages that changed."""
    from ruamel.yaml import YAML

    from .files import atomic_path

    # ruamel's defaults are the layout DVC itself writes (`dvc freeze` rewrites the file):
    # one style, whichever tool wrote last
    rt = YAML()
    rt.preserve_quotes = True
    doc = rt.load(layout.dvc_file.read_text(encoding="utf-8"))
    changed = []
    for name, (listed, wanted) in stage_dependencies(layout).items():
        if listed == wanted:
            continue
        deps = doc["stages"][name]["deps"]
        kept = [d for d in deps if not _is_package_file(d, layout)]
        first = next((i for i, d in enumerate(deps) if _is_package_file(d, layout)), len(kept))
        deps.clear()
        for d in kept[:first] + wanted + kept[first:]:
            deps.append(d)
        changed.append(name)
    with atomic_path(layout.dvc_file) as tmp, tmp.open("w", encoding="utf-8") as handle:
        rt.dump(doc, handle)
    return changed


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vcd.pipeline", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a pipeline notebook with papermill")
    run.add_argument("notebook")
    run.add_argument("output")
    run.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        default=[],
        metavar=("NAME", "VALUE"),
        help="notebook parameter; VALUE is parsed as YAML (numbers, lists, null)",
    )
    run.add_argument("--params-file", default=None, help="parameter file (default: the repository's params.yaml)")
    deps = sub.add_parser("deps", help="check (or --write) the package dependencies of dvc.yaml's stages")
    deps.add_argument("--write", action="store_true")
    args = parser.parse_args(argv)
    layout = Layout.discover()
    if args.command == "run":
        parameters = {name: yaml.safe_load(value) for name, value in args.parameter}
        run_notebook(layout, args.notebook, args.output, parameters, params_file=args.params_file)
        return 0
    if args.write:
        changed = write_stage_dependencies(layout)
        print(f"dvc.yaml: package dependencies rewritten for {changed or 'no stage'}")
        return 0
    stale = {
        name: (listed, wanted) for name, (listed, wanted) in stage_dependencies(layout).items() if listed != wanted
    }
    for name, (listed, wanted) in stale.items():
        extra, missing = sorted(set(listed) - set(wanted)), sorted(set(wanted) - set(listed))
        print(f"{name}: lists {extra} it does not import, misses {missing}")
    if stale:
        print("run `python -m vcd.pipeline deps --write`")
    return 1 if stale else 0


if __name__ == "__main__":
    raise SystemExit(_main())
