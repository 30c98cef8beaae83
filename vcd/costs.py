"""What each method costs: training per run, sampling per video, one-time work.

A user choosing how to make an image-to-video model consistent weighs the gain against
its price: fine-tuning (VCD, the learned rewards) pays once per run and samples at the
base model's cost; FrameInit pays a VAE encoding and two 3-D FFTs per video; best-of-N
pays N samples per video; the learned rewards also pay their reward models' training
once. Every number is read from what the pipeline measured on the machine that ran it:
the runs' records (``runs/<dataset>/<reward>/runs.json``), the generation stamps of the
evaluation videos (:func:`vcd.generation.sampling_seconds_per_video`) and the
reward_models stage's metrics.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd

from .generation import sampling_seconds_per_video
from .layout import Layout
from .methods import (
    BASE,
    CANDIDATES,
    LEARNED_REWARD_NAMES,
    method_label,
    sampling_model,
    split_best_of,
    split_frameinit,
    split_replicate,
)

__all__ = ["COST_COLUMNS", "method_costs"]

#: the cost table's columns after the method
COST_COLUMNS = ("training s / run", "one-time s", "sampling s / video", "sampling vs base")


def _training_seconds(layout: Layout, reward: str, dataset: str) -> float:
    record = layout.reward_runs(reward, dataset)
    if not record.is_file():
        return float("nan")
    runs = json.loads(record.read_text())["runs"]
    return float(np.mean([r["seconds"] for r in runs])) if runs else float("nan")


def method_costs(layout: Layout, methods: Sequence[str], dataset: str, train_on: str, best_of_n: int) -> pd.DataFrame:
    """One row per method: mean training seconds per fine-tuning run of its reward (on
    ``train_on``), one-time seconds (the reward models' stage, for a learned reward or a
    best-of-N by one), measured sampling seconds per evaluation video on ``dataset``,
    and sampling relative to the base model. A best-of-N method samples ``best_of_n``
    candidates per video (the candidates' measured time x N; scoring is not counted,
    every video is scored anyway)."""
    metrics = layout.reward_models.metrics
    reward_model_seconds = json.loads(metrics.read_text()).get("seconds", np.nan) if metrics.is_file() else np.nan
    base = sampling_seconds_per_video(layout, BASE, dataset)
    rows = []
    for method in methods:
        scorer = split_best_of(method)
        model = split_replicate(split_frameinit(sampling_model(method))[0])[0]
        if scorer is not None:
            sampling = best_of_n * sampling_seconds_per_video(layout, CANDIDATES, dataset)
            one_time = reward_model_seconds if scorer in LEARNED_REWARD_NAMES else 0.0
        else:
            sampling = sampling_seconds_per_video(layout, method, dataset)
            one_time = reward_model_seconds if model in LEARNED_REWARD_NAMES else 0.0
        training = 0.0 if model == BASE else _training_seconds(layout, model, train_on)
        rows.append(
            {
                "method": method_label(method),
                "training s / run": training,
                "one-time s": one_time,
                "sampling s / video": sampling,
                "sampling vs base": sampling / base if base else float("nan"),
            }
        )
    return pd.DataFrame(rows, columns=["method", *COST_COLUMNS])
