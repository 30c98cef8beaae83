"""Atomic writes: a file appears under its final name only once it is complete.

Every result is first written to a temporary file in the target's folder and then
renamed over the target (``os.replace``, atomic on POSIX), so a killed process or a
full disk never leaves a truncated file under a name a later stage would trust.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

__all__ = ["atomic_path", "write_text", "write_json", "write_csv"]


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``.

    For writers that take a file name (matplotlib, PIL, safetensors, torch.save). The
    temporary file keeps the target's suffix (some writers choose the format by it).
    On an exception it is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.partial{path.suffix}")
    try:
        yield tmp
        if not tmp.exists():
            raise OSError(f"nothing was written to {tmp} for {path}")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) atomically; returns the path."""
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    return Path(path)


def write_json(path: str | Path, payload: Mapping[str, Any] | list, sort_keys: bool = False) -> Path:
    """Write ``payload`` as indented JSON atomically (numpy scalars become floats)."""
    return write_text(path, json.dumps(payload, indent=2, sort_keys=sort_keys, default=_plain) + "\n")


def write_csv(path: str | Path, frame: Any) -> Path:
    """Write a DataFrame as CSV (no index) atomically."""
    return write_text(path, frame.to_csv(index=False))


def _plain(value: Any) -> Any:
    if hasattr(value, "item"):  # numpy / torch scalars
        return value.item()
    if isinstance(value, (set, tuple)):
        return list(value)
    if isinstance(value, Path):
        return str(value)
    return float(value)
