"""What produced a result: code version, parameters, library versions, weights.

Every stage writes a provenance file next to its results (:func:`record`), so a number
can always be traced back to the commit, the exact parameters and the model/encoder
weights behind it. Provenance is kept out of the metrics files, which hold only the
numbers a user compares across experiments (``dvc metrics show``).

:func:`profile_label` is the one-line version of the same for figure footers and
table captions: results of the embedded default profile say so wherever they appear.
"""

from __future__ import annotations

import hashlib
import json
import platform
import subprocess
from collections.abc import Mapping
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .settings import Settings

__all__ = ["code_version", "params_digest", "library_versions", "record", "cpu_name", "profile_label"]

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


def code_version(root: str | Path) -> dict[str, Any]:
    """Git commit of the repository and whether its sources differ from it.

    ``dirty`` is true when tracked files under the layout's ``source_paths`` differ from
    the commit; ``dirty_files`` names them (so a result made with uncommitted code says
    which code).
    """
    from .layout import Layout

    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, check=True).stdout.rstrip()

    try:
        commit = git("rev-parse", "HEAD")
        changed = git("status", "--porcelain", "--untracked-files=no", "--", *Layout(Path(root)).source_paths)
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


def record(settings: Settings, root: str | Path, **weights: Any) -> dict[str, Any]:
    """A provenance block: code version, profile, settings digest, libraries and the
    weights (encoder, base model, LoRA ...) passed as keyword arguments."""
    return {
        "code": code_version(root),
        "profile": settings.profile,
        "params_sha256": params_digest(settings.as_dict()),
        "libraries": library_versions(),
        "python": platform.python_version(),
        "weights": weights,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def profile_label(profile: str, encoder: Mapping[str, str] | None = None) -> str:
    """One line saying where numbers come from, for figure footers and table captions.

    ``encoder`` is the VGG19's provenance record (``VGG19Features.provenance()``): the
    seeded random initialisation of the default profile is named as the stand-in it is.
    """
    if profile == "default":
        text = "Embedded default profile (toy setup on CPU, real photographs) - not the paper's numbers"
    else:
        text = f"Profile: {profile}"
    if encoder:
        weights = encoder.get("encoder_weights", "?")
        if weights == "random":
            text += "; VGG19 weights: seeded random init (offline stand-in for ImageNet weights)"
        else:
            text += f"; VGG19 weights: {weights}"
    return text
