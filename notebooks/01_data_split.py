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
params_file = None  # None: the repository's params.yaml

# %%
import matplotlib.pyplot as plt
import pandas as pd

from vcd.data import build_split, read_split
from vcd.figures import plot_split_images, save_figure
from vcd.files import write_json
from vcd.layout import Layout
from vcd.provenance import profile_label, record
from vcd.settings import Settings

layout = Layout.discover()
settings = Settings.load(params_file or layout.params_file)
data, video = settings.data, settings.video

# %% [markdown]
# ## Check, prepare and split each dataset

# %%
summary = pd.DataFrame([build_split(name, data, layout, video) for name in data.datasets]).set_index("dataset")
summary

# %% [markdown]
# ## Every file and what happened to it
# Nothing is dropped silently: rejected files stay in the report with their reason.

# %%
reports = pd.concat([pd.read_csv(layout.split_report(name)).assign(dataset=name) for name in data.datasets])
reports[["dataset", "id", "status", "reasons", "width", "height", "mode"]]

# %% [markdown]
# ## The prepared conditioning images
# Train items first, then evaluation items, at the generation resolution.

# %%
for name in data.datasets:
    items = [("train", it) for it in read_split(layout, name, "train")] + [
        ("eval", it) for it in read_split(layout, name, "eval")
    ]
    fig = plot_split_images(
        items,
        f"{name}: {summary.loc[name, 'train']} train / {summary.loc[name, 'eval']} eval items "
        f"({video.width}x{video.height}), split seed {data.split_seed}",
    )
    save_figure(fig, layout.split_figure(name), footer=profile_label(settings.profile))
    plt.show()

# %% [markdown]
# ## Metrics for DVC
# The counts per dataset (`dvc metrics show`); what produced them goes to its own file.

# %%
counts = ["items", "files_ok", "files_converted", "files_rejected", "train", "eval", "train_rejected", "eval_rejected"]
write_json(layout.data_results.metrics, {name: {k: int(row[k]) for k in counts} for name, row in summary.iterrows()})
write_json(layout.data_results.provenance, record(settings, layout.root))
summary[counts]

# %% [markdown]
# **Reading.** Every embedded photograph is usable; the grayscale ones are converted
# to RGB (listed above). The split is a pure function of the item ids and
# `data.split_seed`, so the same parameters always give the same train and evaluation
# sets.
