# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3 (vcd)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 01 · Data split
#
# Loads every dataset named in `params.yaml` (`data.datasets`), checks each image
# (unreadable, truncated, tiny files are rejected; grayscale, palette, RGBA, CMYK and
# 16-bit files are converted -- every decision is reported), prepares the conditioning
# images at the generation resolution (centre crop to the aspect ratio, then resize, as
# the paper does, App. C.1) and makes the seeded random train/eval split of Sec. 4.1.
#
# In the embedded default profile the only dataset is the mini-benchmark of real,
# freely licensed photographs that ship inside scikit-image and scikit-learn
# (`data/embedded/manifest.json`).

# %% tags=["parameters"]
params_file = "params.yaml"
out_dir = "data/splits"
results_dir = "results/data"

# %%
import os

import matplotlib.pyplot as plt
import pandas as pd
from PIL import Image

from vcd.config import find_repo_root, load_params
from vcd.data import build_split, read_split
from vcd.provenance import record
from vcd.reporting import profile_label, save_figure, write_json

os.chdir(find_repo_root())
params = load_params(params_file)
width, height = params["video"]["width"], params["video"]["height"]

# %% [markdown]
# ## Check, prepare and split each dataset

# %%
summaries = []
for name in params["data"]["datasets"]:
    summaries.append(
        build_split(name, params["data"][name], f"{out_dir}/{name}", width, height,
                    seed=params["data"]["split_seed"], min_side=params["data"]["min_side"])
    )
summary = pd.DataFrame(summaries).set_index("dataset")
summary

# %% [markdown]
# ## Every file and what happened to it
# Nothing is dropped silently: rejected files stay in the report with their reason.

# %%
reports = pd.concat(
    [pd.read_csv(f"{out_dir}/{name}/report.csv").assign(dataset=name) for name in params["data"]["datasets"]]
)
reports[["dataset", "id", "status", "reasons", "width", "height", "mode"]]

# %% [markdown]
# ## The prepared conditioning images
# Train items first, then evaluation items, at the generation resolution.

# %%
for name in params["data"]["datasets"]:
    items = [("train", it) for it in read_split(f"{out_dir}/{name}", "train")] + [
        ("eval", it) for it in read_split(f"{out_dir}/{name}", "eval")
    ]
    shown = items[:24]
    cols = 4
    rows = (len(shown) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.9 * rows), squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (part, item) in zip(axes.flat, shown):
        ax.imshow(Image.open(item.image))
        caption = item.caption if len(item.caption) < 70 else item.caption[:67] + "..."
        ax.set_title(f"[{part}] {item.id}\n{caption}", fontsize=6.5, wrap=True)
    fig.suptitle(f"{name}: {summary.loc[name, 'train']} train / {summary.loc[name, 'eval']} eval items "
                 f"({width}x{height}), split seed {params['data']['split_seed']}", fontsize=10)
    fig.tight_layout()
    save_figure(fig, f"{results_dir}/split_{name}.png", footer=profile_label(params))
    plt.show()

# %% [markdown]
# ## Metrics for DVC

# %%
write_json(
    f"{results_dir}/split_summary.json",
    {"datasets": {name: row for name, row in zip(summary.index, summary.to_dict("records"))},
     "provenance": record(params)},
)
summary[["files", "files_ok", "files_converted", "files_rejected", "train", "eval"]]

# %% [markdown]
# **Reading.** Every embedded photograph is usable; the grayscale ones are converted
# to RGB (listed above). The split is a pure function of the item ids and
# `data.split_seed`, so the same parameters always give the same train and evaluation
# sets.
