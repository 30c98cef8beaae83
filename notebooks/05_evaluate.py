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
# # 05 · Generate and score evaluation videos for one method
#
# As in the paper (Sec. 4.1), five videos per (image, prompt) with different seeds, for
# the base model (`method = "base"`) or a fine-tuned run (`method` = a reward name; its
# LoRA is loaded from `runs/<method>/`). Videos are written as H.264 MP4 with VBench's
# naming `{prompt}-{seed}.mp4`, with the conditioning images; a re-run skips videos that
# are already complete. Every video is then read back from its MP4 (as VBench does) and
# scored with the weight-free, VBench-I2V-style metrics of `vcd.evaluation` -- each
# named after what it stands in for.

# %% tags=["parameters"]
params_file = "params.yaml"
method = "base"

# %%
import os
from pathlib import Path

import pandas as pd
import torch

from vcd.config import find_repo_root, load_params
from vcd.data import read_split
from vcd.evaluation import METRICS, generate_method_videos, score_videos
from vcd.metric import metric_from_params
from vcd.models import load_lora, load_pipeline, model_provenance, sha256_of_files
from vcd.provenance import params_digest
from vcd.rewards import reward_label
from vcd.training import require_complete_run

os.chdir(find_repo_root())
params = load_params(params_file)
model_cfg, video_cfg, eval_cfg = params["model"], params["video"], params["evaluation"]
device = "cuda" if torch.cuda.is_available() else "cpu"
torch.manual_seed(0)
run_info = None if method == "base" else require_complete_run(f"runs/{method}")  # never a half-trained LoRA
video_root, out_dir = Path(eval_cfg["video_dir"]) / method, Path(eval_cfg["results_dir"]) / method
out_dir.mkdir(parents=True, exist_ok=True)
print(f"method: {reward_label(method)}; datasets: {eval_cfg['datasets']}; seeds: {eval_cfg['seeds']}")

# %% [markdown]
# ## Generate

# %%
pipe = load_pipeline(model_cfg, device, getattr(torch, model_cfg["dtype"]), offline=bool(params["runtime"]["offline"]))
if run_info is not None:
    load_lora(pipe.transformer, f"runs/{method}", merge=True)  # sampling only: fold the adapter into the weights
pipe.transformer.eval()
# Everything that shapes the videos; a re-run reuses finished videos only if it matches.
lora_sha = None if run_info is None else sha256_of_files([Path(f"runs/{method}/lora.safetensors")])
fingerprint = params_digest({"model": model_cfg, "video": video_cfg, "base": model_provenance(model_cfg), "lora": lora_sha})
counts = {}
for dataset in eval_cfg["datasets"]:
    items = read_split(f"data/splits/{dataset}", "eval")
    counts[dataset] = generate_method_videos(pipe, items, eval_cfg["seeds"], video_root / dataset, video_cfg, model_cfg, fingerprint)
counts

# %% [markdown]
# ## Score (read back from the MP4 files)

# %%
metric = metric_from_params(params["vcd"], "paper").to(device)
size = (video_cfg["width"], video_cfg["height"])
per_video, per_frame = [], []
for dataset in eval_cfg["datasets"]:
    items = read_split(f"data/splits/{dataset}", "eval")
    pv, pf = score_videos(method, dataset, items, eval_cfg["seeds"], video_root / dataset, metric,
                          video_cfg["num_frames"], size, vcd_seeds=eval_cfg["vcd_seeds"])
    per_video.append(pv)
    per_frame.append(pf)
per_video = pd.concat(per_video, ignore_index=True)
pd.concat(per_frame, ignore_index=True).to_csv(out_dir / "per_frame.csv", index=False)
per_video.to_csv(out_dir / "per_video.csv", index=False)
excluded = per_video[per_video.status != "ok"]
print(f"{len(per_video)} videos scored, {len(excluded)} excluded")
excluded[["dataset", "image_id", "seed", "reason"]]

# %%
per_video[per_video.status == "ok"].groupby("dataset")[[m for m in METRICS if per_video[m].notna().any()]].mean().T

# %% [markdown]
# **Reading.** One row per video lands in `per_video.csv` (excluded videos stay, with
# their reason); `per_frame.csv` holds the unweighted VCD of every frame to the first
# frame. Comparisons between methods, confidence intervals and tests are made in
# `06_report`.
