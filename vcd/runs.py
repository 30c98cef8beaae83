"""The run-folder protocol: how a fine-tuning run says whether it finished.

A run folder ``runs/<name>/`` (:class:`vcd.layout.RunFiles`) holds ``run_info.json``
whose ``status`` is ``running`` while training and ``complete`` only once every output
(LoRA weights, logs, metrics) is written. Training writes it (:func:`mark_running`,
:func:`mark_complete`); evaluation and reporting read it and refuse anything but a
finished run (:func:`require_complete_run`), so a half-trained LoRA never reaches a
table. Writes are atomic.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from .files import write_json
from .layout import RunFiles

__all__ = [
    "RUNNING",
    "COMPLETE",
    "read_run_info",
    "mark_running",
    "mark_complete",
    "require_complete_run",
]

RUNNING, COMPLETE = "running", "complete"


def read_run_info(run: RunFiles) -> dict[str, Any]:
    """The run's ``run_info.json``, or ``{}`` when there is none."""
    if not run.info.is_file():
        return {}
    try:
        return json.loads(run.info.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ValueError(
            f"{run.info} is not valid JSON ({exc}); delete the run folder and re-run the finetune stage"
        ) from exc


def mark_running(run: RunFiles, reward: str, resumed_from_step: int) -> None:
    """Record that training (re)started; nothing in the folder counts as finished."""
    write_json(run.info, {"status": RUNNING, "reward": reward, "resumed_from_step": int(resumed_from_step)})


def mark_complete(run: RunFiles, info: Mapping[str, Any]) -> dict[str, Any]:
    """Record a finished run (call last, after every output is written)."""
    record = {"status": COMPLETE, **{k: v for k, v in info.items() if k != "status"}}
    write_json(run.info, record)
    return record


def require_complete_run(run: RunFiles) -> dict[str, Any]:
    """The run's info if it finished; otherwise a clear error (never a half-trained LoRA)."""
    info = read_run_info(run)
    if info.get("status") != COMPLETE:
        raise FileNotFoundError(
            f"{run.dir} is not a finished fine-tuning run (status: {info.get('status', 'missing')}); "
            "run the finetune stage (`dvc repro finetune`) first"
        )
    return info
