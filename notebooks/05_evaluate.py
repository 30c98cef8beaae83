# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (vcd)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 05 · Generate and score the evaluation videos of every method
#
# As in the paper (Sec. 4.1), five videos per (image, prompt) with different seeds, for
# the base model and for every reward (`methods.rewards`; each dataset's videos use the
# LoRA trained on the set `evaluation.lora_from` names, `models/lora/<dataset>/<reward>/`,
# folded into the weights for sampling). Videos are written as
# H.264 MP4 with VBench's naming `{prompt}-{seed}.mp4`, with the conditioning images; a
# re-run reuses the videos that are complete and were made by the same model, LoRA and
# settings, so re-evaluating after one run changed only generates that run's videos.
# Every video is then read back from its MP4 (as VBench does) and scored with the
# weight-free, VBench-I2V-style metrics of `vcd.video_metrics` -- each named after what
# it stands in for.
#
# The study's replicate runs get `evaluation.replicate_seeds`; every run's trade-off
# snapshots (its LoRA after `finetune.snapshots` of training, `<run>~<step>`) are
# scored on the subset `evaluation.tradeoff` names, for the report's
# consistency-motion curves.
#
# One stage for all methods rather than one per method: each stage pays for starting
# a kernel and importing torch, diffusers and peft (README, Performance).

# %% tags=["parameters"]
params_file = None  # None: the repository's params.yaml
methods = None  # None: "base", every run and every run's trade-off snapshots; or a list such as ["base", "vcd"]

# %%
import pandas as pd

from vcd.columns import METRICS
from vcd.evaluation import evaluate_methods
from vcd.layout import Layout
from vcd.methods import method_label
from vcd.settings import Settings

layout = Layout.discover()
settings = Settings.load(params_file or layout.params_file)
methods = list([*settings.study_methods, *settings.snapshot_methods] if methods is None else methods)
tradeoff = settings.evaluation.tradeoff
print(
    f"methods: {[method_label(m) for m in settings.study_methods]}; datasets: {list(settings.evaluation.datasets)}; "
    f"seeds: {list(settings.evaluation.seeds)} (replicate runs: {list(settings.evaluation.replicate_seeds)}); "
    f"{len(settings.snapshot_methods)} trade-off snapshots (after steps {list(settings.finetune.snapshot_steps)} "
    f"of {settings.finetune.steps}) on {tradeoff.items or 'all'} items with seeds {list(tradeoff.seeds)}"
)

# %% [markdown]
# ## Generate and score, method by method
#
# Every run is checked to be finished before any video is made; one metric and one
# hashing of the base weights serve all methods. On several GPUs the same call runs
# under `accelerate launch -m vcd.evaluation` (README, "Paper profile"); here it is
# one process, and videos that such a launch already made are reused.

# %%
counts = pd.DataFrame(evaluate_methods(settings, layout, methods))
counts.set_index("method")

# %% [markdown]
# ## Excluded videos (kept as rows with their reason; the report counts them)

# %%
per_video = pd.concat([pd.read_csv(layout.method_results(m).per_video) for m in methods], ignore_index=True)
per_video.loc[per_video.status != "ok", ["method", "dataset", "image_id", "seed", "reason"]]

# %%
ok = per_video[(per_video.status == "ok") & per_video.method.isin(settings.study_methods)]  # snapshots: in 06's curves
ok.groupby(["dataset", "method"])[[m for m in METRICS if per_video[m].notna().any()]].mean().T

# %% [markdown]
# **Reading.** One row per video lands in `results/eval/<method>/per_video.csv`
# (excluded videos stay, with their reason); `per_frame.csv` holds the unweighted VCD
# of every frame to the first frame, and `provenance.json` what made the videos.
# Comparisons between methods, confidence intervals and tests are made in `06_report`.
