"""The parameter file: reading it, profiles as overlays, the offline switches.

``params.yaml`` is the single source of truth for every setting; :mod:`vcd.settings`
turns it into typed objects, and nothing else reads it. It holds the embedded default
profile. ``profiles/<name>.yaml`` lists only the keys a profile changes (e.g.
``profiles/paper.yaml``); ``apply_profile`` merges it into ``params.yaml`` in place
(comments kept), so DVC sees ordinary parameter changes and ``git diff params.yaml``
shows exactly what the profile switched.

Command line::

    python -m vcd.config apply-profile paper     # what `make repro PROFILE=paper` runs
    python -m vcd.config show data.embedded      # print a section
"""

from __future__ import annotations

import argparse
import copy
import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from .files import atomic_path
from .layout import Layout
from .settings import Settings, load_params

__all__ = [
    "load_params",
    "get",
    "deep_merge",
    "apply_overlay",
    "apply_profile",
    "set_offline",
    "OFFLINE_ENV",
]

#: Environment switches that keep the Hugging Face libraries, and this package's own
#: downloads (torch.hub's VGG19 weights, vcd.encoders), off the network.
OFFLINE_ENV = ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "DIFFUSERS_OFFLINE", "VCD_OFFLINE")


def get(params: Mapping[str, Any], dotted: str, default: Any = ...) -> Any:
    """``get(params, "data.embedded.n_train")``; raises KeyError naming the missing key."""
    node: Any = params
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            if default is not ...:
                return default
            raise KeyError(f"parameter {dotted!r} is missing (no {part!r}); check params.yaml")
        node = node[part]
    return node


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """Recursive merge: mappings merge key by key, everything else is replaced."""
    out = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _unknown_keys(base: Mapping[str, Any], overlay: Mapping[str, Any], prefix: str = "") -> list[str]:
    unknown = []
    for key, value in overlay.items():
        name = f"{prefix}{key}"
        if key not in base:
            unknown.append(name)
        elif isinstance(value, Mapping) and isinstance(base[key], Mapping):
            unknown += _unknown_keys(base[key], value, name + ".")
    return unknown


def apply_overlay(params_path: str | Path, overlay: Mapping[str, Any]) -> list[str]:
    """Merge ``overlay`` into the YAML file in place, keeping its comments.

    Every overlay key must already exist in the file (a typo must not silently add a
    parameter nobody reads). Returns the dotted names of the leaves that changed.
    """
    from ruamel.yaml import YAML

    params_path = Path(params_path)
    rt = YAML()
    rt.preserve_quotes = True
    rt.width = 4096
    with params_path.open(encoding="utf-8") as handle:
        doc = rt.load(handle)
    unknown = _unknown_keys(doc, overlay)
    if unknown:
        raise KeyError(f"overlay sets parameters that {params_path} does not have: {unknown}")
    changed: list[str] = []

    def merge(node: Any, patch: Mapping[str, Any], prefix: str) -> None:
        for key, value in patch.items():
            if isinstance(value, Mapping) and isinstance(node.get(key), Mapping):
                merge(node[key], value, f"{prefix}{key}.")
            elif node.get(key) != value:
                node[key] = value
                changed.append(f"{prefix}{key}")

    merge(doc, overlay, "")
    with atomic_path(params_path) as tmp, tmp.open("w", encoding="utf-8") as handle:
        rt.dump(doc, handle)
    return changed


def apply_profile(name: str, layout: Layout) -> list[str]:
    """Merge ``profiles/<name>.yaml`` into ``params.yaml`` (see module docstring).

    The merged file is checked as settings before it replaces ``params.yaml``: a
    profile that would make the parameters invalid changes nothing.
    """
    profile_path = layout.profile(name)
    if not profile_path.is_file():
        available = sorted(p.stem for p in layout.profiles.glob("*.yaml"))
        raise FileNotFoundError(f"profile {name!r} not found at {profile_path}; available: {available}")
    overlay = yaml.safe_load(profile_path.read_text(encoding="utf-8")) or {}
    overlay.setdefault("profile", name)
    Settings.from_mapping(
        deep_merge(load_params(layout.params_file), overlay), f"{layout.params_file} with {profile_path}"
    )
    return apply_overlay(layout.params_file, overlay)


def set_offline(offline: bool | int) -> None:
    """Set (or clear) the offline switches (:data:`OFFLINE_ENV`) for this process and its children.

    They only take full effect when set before ``huggingface_hub`` is imported, which is
    why the pipeline also sets them in each stage's command (dvc.yaml).
    """
    for name in OFFLINE_ENV:
        if offline:
            os.environ[name] = "1"
        else:
            os.environ.pop(name, None)


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m vcd.config", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    apply = sub.add_parser("apply-profile", help="merge profiles/<name>.yaml into params.yaml")
    apply.add_argument("name")
    show = sub.add_parser("show", help="print a parameter (dotted name) or all")
    show.add_argument("key", nargs="?")
    args = parser.parse_args(argv)
    layout = Layout.discover()
    if args.command == "apply-profile":
        changed = apply_profile(args.name, layout)
        print(f"profile {args.name!r}: {len(changed)} parameter(s) changed in params.yaml")
        for key in changed:
            print(f"  {key}")
        return 0
    params = load_params(layout.params_file)
    yaml.safe_dump(get(params, args.key) if args.key else params, sys.stdout, sort_keys=False)
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
