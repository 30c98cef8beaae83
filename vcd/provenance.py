"""What produced a result: code version, parameters, library versions, weights.

Every metrics/results file the pipeline writes embeds :func:`record` so a number can
always be traced back to the commit, the exact parameters and the model/encoder
weights behind it.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

__all__ = ["code_version", "params_digest", "library_versions", "record", "cpu_name"]

_LIBRARIES = ("vcd", "torch", "diffusers", "transformers", "peft", "accelerate", "numpy", "scipy", "statsmodels")


def cpu_name() -> str:
    """The CPU model from /proc/cpuinfo (``platform.processor()`` is often empty on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


# What shapes a result: the package, notebooks, settings and inputs. Pipeline outputs
# (results/, runs/, dvc.lock, the README's synced tables) are tracked too, and DVC
# deletes a stage's outputs before running it, so counting them would mark every
# pipeline run as "dirty".
SOURCE_PATHS = ("vcd", "notebooks", "scripts", "data", "profiles", "params.yaml", "dvc.yaml", "pyproject.toml", "constraints.txt")


def code_version(root: str | Path = ".") -> dict[str, Any]:
    """Git commit of the repository and whether its sources differ from it.

    ``dirty`` is true when tracked files under :data:`SOURCE_PATHS` differ from the
    commit; ``dirty_files`` names them (so a result made with uncommitted code says
    which code).
    """
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.rstrip()

    try:
        commit = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no", "--", *SOURCE_PATHS)
    except (subprocess.CalledProcessError, FileNotFoundError):
        return {"commit": "unknown (not a git checkout or no commits)", "dirty": None}
    files = [line[3:] for line in changed.splitlines() if line.strip()]
    return {"commit": commit, "dirty": bool(files), "dirty_files": files}


def params_digest(params: Mapping[str, Any]) -> str:
    """Stable SHA-256 of the parameters (key order does not matter)."""
    return hashlib.sha256(json.dumps(params, sort_keys=True, default=str).encode()).hexdigest()


def library_versions() -> dict[str, str]:
    versions = {}
    for name in _LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def record(params: Mapping[str, Any], root: str | Path = ".", **weights: Any) -> dict[str, Any]:
    """A provenance block: code version, profile, params digest, libraries and the
    weights (encoder, base model, LoRA ...) passed as keyword arguments."""
    return {
        "code": code_version(root),
        "profile": params.get("profile", "unknown"),
        "params_sha256": params_digest(params),
        "libraries": library_versions(),
        "python": platform.python_version(),
        "weights": weights,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
