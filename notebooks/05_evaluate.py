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
# the base model and for every fine-tuned run (`finetune.rewards`; each LoRA is loaded
# from `runs/<method>/` and folded into the weights for sampling). Videos are written as
# H.264 MP4 with VBench's naming `{prompt}-{seed}.mp4`, with the conditioning images; a
# re-run reuses the videos that are complete and were made by the same model, LoRA and
# settings, so re-evaluating after one run changed only generates that run's videos.
# Every video is then read back from its MP4 (as VBench does) and scored with the
# weight-free, VBench-I2V-style metrics of `vcd.evaluation` -- each named after what it
# stands in for.
#
# One stage for all methods rather than one per method: each stage pays ~10 s to start
# a kernel and import torch, diffusers and peft (README, Performance).

# %% tags=["parameters"]
params_file = "params.yaml"
methods = None  # None: "base" and every run of finetune.rewards; or a list such as ["base", "vcd"]

# %%
import os

import pandas as pd
import torch

from vcd.config import find_repo_root, load_params
from vcd.evaluation import METRICS, evaluate_method
from vcd.metric import metric_from_params
from vcd.rewards import reward_label
from vcd.training import require_complete_run

os.chdir(find_repo_root())
params = load_params(params_file)
eval_cfg = params["evaluation"]
device = "cuda" if torch.cuda.is_available() else "cpu"
methods = ["base", *params["finetune"]["rewards"]] if methods is None else list(methods)
for method in methods:
    if method != "base":
        require_complete_run(f"runs/{method}")  # every run checked before any video is made
metric = metric_from_params(params["vcd"], "paper").to(device)
print(f"methods: {[reward_label(m) for m in methods]}; datasets: {eval_cfg['datasets']}; seeds: {eval_cfg['seeds']}")

# %% [markdown]
# ## Generate and score, method by method

# %%
counts = pd.DataFrame([evaluate_method(params, method, metric, device) for method in methods]).set_index("method")
counts

# %% [markdown]
# ## Excluded videos (kept as rows with their reason; the report counts them)

# %%
per_video = pd.concat([pd.read_csv(f"{eval_cfg['results_dir']}/{m}/per_video.csv") for m in methods], ignore_index=True)
per_video.loc[per_video.status != "ok", ["method", "dataset", "image_id", "seed", "reason"]]

# %%
ok = per_video[per_video.status == "ok"]
ok.groupby(["dataset", "method"])[[m for m in METRICS if per_video[m].notna().any()]].mean().T

# %% [markdown]
# **Reading.** One row per video lands in `results/eval/<method>/per_video.csv`
# (excluded videos stay, with their reason); `per_frame.csv` holds the unweighted VCD
# of every frame to the first frame. Comparisons between methods, confidence intervals
# and tests are made in `06_report`.
