"""Runs one pipeline stage: a notebook executed by papermill (what dvc.yaml calls).

    python -m vcd.pipeline notebooks/01_data_split.ipynb results/notebooks/01_data_split.ipynb \
        -p params_file params.yaml

It reads ``runtime.offline`` from ``params.yaml`` and sets the Hugging Face offline
switches *before* the kernel starts (they are read at import time), creates the output
folder (papermill does not), runs the kernel from the repository root, and exits
non-zero if a cell fails (papermill still writes the executed notebook for debugging).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any, Mapping

import yaml

from .config import find_repo_root, load_params, set_offline

__all__ = ["run_notebook"]


def run_notebook(notebook: str | Path, output: str | Path, parameters: Mapping[str, Any] | None = None, params_file: str = "params.yaml") -> Path:
    """Execute ``notebook`` with papermill into ``output`` (kernel ``python3``)."""
    # papermill -> nbformat -> jsonschema imports rfc3987_syntax if installed (it comes
    # with jupyterlab), which builds a grammar at import: 1.1 s per stage, only to check
    # the "iri" string formats that notebook validation never uses. Marked absent here,
    # in this launcher process only, jsonschema skips those two format checks.
    sys.modules.setdefault("rfc3987_syntax", None)
    import papermill

    root = find_repo_root()
    params = load_params(root / params_file)
    set_offline(int(params.get("runtime", {}).get("offline", 1)))
    # glibc returns large freed blocks to the OS at once, so every big tensor pays page
    # faults again; keeping them in the heap cut system time 8.2 s -> 1.0 s over 12 VCD
    # pair evaluations at 224x160 (README, Performance). Inherited by the kernel process.
    for name in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_"):
        os.environ.setdefault(name, str(1 << 32))
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(notebook),
        str(output),
        parameters={"params_file": params_file, **dict(parameters or {})},
        kernel_name="python3",
        cwd=str(root),
        progress_bar=False,
        log_output=bool(os.environ.get("VCD_LOG_NOTEBOOK_OUTPUT")),
    )
    return output


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vcd.pipeline", description="Run a pipeline notebook with papermill.")
    parser.add_argument("notebook")
    parser.add_argument("output")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", default=[], metavar=("NAME", "VALUE"),
                        help="notebook parameter; VALUE is parsed as YAML (numbers, lists, null)")
    parser.add_argument("--params-file", default="params.yaml")
    args = parser.parse_args(argv)
    parameters = {name: yaml.safe_load(value) for name, value in args.parameter}
    run_notebook(args.notebook, args.output, parameters, params_file=args.params_file)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
