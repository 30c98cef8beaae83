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
# # 02 · VCD sanity checks on real photographs
#
# VCD should be **small when a frame differs from the conditioning image by natural
# motion** and **large for unnatural changes** of global or local attributes (Sec. 3.1).
# This notebook builds synthetic videos from the embedded photographs -- camera pans,
# zooms and a moving cut-out (natural motion) against colour, blur, style and content
# drift (appearance drift) -- and measures
#
# 1. VCD of every frame to the first frame, per kind of change;
# 2. the amplitude and phase contributions (Eq. 2's two terms; Table 1's ablation);
# 3. tolerance to pure camera shifts of the design choices the paper ablates:
#    SWD vs L2 (Eq. 4) and frequency vs feature space (Eq. 5);
# 4. the temporal weight (N - i + 1) / N.

# %% tags=["parameters"]
params_file = "params.yaml"
results_dir = "results/sanity"

# %%
import os

import matplotlib.pyplot as plt
import torch

from vcd.config import find_repo_root, load_params
from vcd.data import load_manifest, load_rgb, resolve_image
from vcd.metric import metric_from_params
from vcd.provenance import record
from vcd.reporting import (plot_components, plot_distance_curves, plot_shift_sensitivity,
                           plot_temporal_weight, profile_label, save_figure, write_json)
from vcd.sanity import distance_curves, separation_summary, shift_sensitivity
from vcd.synthetic import make_video, to_tensor

os.chdir(find_repo_root())
params = load_params(params_file)
cfg = params["sanity"]
size = (cfg["width"], cfg["height"])
torch.manual_seed(params["vcd"]["seed"])

_, items = load_manifest(params["data"]["embedded"]["manifest"])
by_id = {it.id: it for it in items}
missing = [i for i in cfg["images"] if i not in by_id]
if missing:
    raise ValueError(f"sanity.images names unknown embedded ids {missing}; known: {sorted(by_id)}")
images = {}
for image_id in cfg["images"]:
    rgb, report = load_rgb(resolve_image(by_id[image_id].image, "data/embedded"), image_id)
    if rgb is None:
        raise ValueError(f"sanity image {image_id} is unusable: {report.reasons}")
    images[image_id] = to_tensor(rgb)

metric = metric_from_params(params["vcd"], "paper")
footer = profile_label(params, metric.encoder.provenance())
print(footer)

# %% [markdown]
# ## What the synthetic videos look like

# %%
kinds = cfg["kinds"]
first = next(iter(images))
others = list(images.values())
fig, axes = plt.subplots(len(kinds), cfg["num_frames"], figsize=(1.9 * cfg["num_frames"], 1.45 * len(kinds)), squeeze=False)
for row, kind in enumerate(kinds):
    extra = {"other": others[1 % len(others)]} if kind == "content_swap" else {}
    video = make_video(kind, images[first], cfg["num_frames"], size, **extra)
    for col in range(cfg["num_frames"]):
        ax = axes[row, col]
        ax.imshow(video[col].permute(1, 2, 0).numpy())
        ax.set_xticks([]), ax.set_yticks([])
        if col == 0:
            ax.set_ylabel(kind, fontsize=8)
        if row == 0:
            ax.set_title(f"frame {col + 1}", fontsize=8)
fig.suptitle("Synthetic videos: natural motion (pan, zoom, moving object) and appearance drift", fontsize=10)
fig.tight_layout()
save_figure(fig, f"{results_dir}/synthetic_videos.png", footer=footer)
plt.show()

# %% [markdown]
# ## 1 · VCD per frame: natural motion vs appearance drift

# %%
curves = distance_curves({"paper": metric}, images, kinds, cfg["num_frames"], size)
curves.to_csv(f"{results_dir}/curves.csv", index=False)
fig = plot_distance_curves(curves, "paper")
save_figure(fig, f"{results_dir}/vcd_motion_vs_drift.png", footer=footer)
plt.show()

# %% [markdown]
# ## 2 · Amplitude vs phase contributions

# %%
fig = plot_components(curves, "paper")
save_figure(fig, f"{results_dir}/amplitude_vs_phase.png", footer=footer)
plt.show()

# %% [markdown]
# ## 3 · SWD vs L2, frequency vs feature space under camera shifts
# Each metric's distance for a pure shift, divided by its own distance for a fixed
# colour change (so metrics on different scales become comparable). Lower is better:
# the metric forgives motion while still seeing the appearance change.

# %%
variants = {name: metric_from_params(params["vcd"], name) for name in cfg["variants"]}
shifts = shift_sensitivity(variants, images, cfg["shifts"], size)
shifts.to_csv(f"{results_dir}/shift_sensitivity.csv", index=False)
fig = plot_shift_sensitivity(shifts)
save_figure(fig, f"{results_dir}/shift_sensitivity.png", footer=footer)
plt.show()

# %% [markdown]
# ## 4 · The temporal weight

# %%
fig = plot_temporal_weight([params["video"]["num_frames"], 25, 51], curves, "paper")
save_figure(fig, f"{results_dir}/temporal_weight.png", footer=footer)
plt.show()

# %% [markdown]
# ## Metrics for DVC

# %%
separation = separation_summary(curves)["paper"]
relative = shifts.groupby(["metric", "shift"])["relative"].mean().unstack("shift")
payload = {
    "separation": separation,
    "per_kind_mean_vcd": curves.groupby("kind")["distance"].mean().to_dict(),
    "amplitude_share": float(curves.amplitude.sum() / (curves.amplitude.sum() + curves.phase.sum())),
    "shift_relative_distance": {m: {f"{s:g}": float(v) for s, v in row.items()} for m, row in relative.iterrows()},
    "settings": {"size": list(size), "num_frames": cfg["num_frames"], "images": cfg["images"], "kinds": kinds},
    "provenance": record(params, encoder=metric.provenance()),
}
write_json(f"{results_dir}/metrics.json", payload)
separation

# %%
at = max(cfg["shifts"])
tolerance = relative[at].sort_values()
print(f"Relative distance at a {at:.0%} camera shift (lower = more tolerant of motion):")
print(tolerance.round(3).to_string())

# %% [markdown]
# **Reading** (embedded default run; the numbers are in `results/sanity/metrics.json`).
# Natural motion (blue) stays low and nearly flat while every appearance drift (red)
# climbs with the frame index: the AUC printed above -- the probability that a
# drifted frame scores higher than a moved frame at the same index -- is close to 1,
# which is the property the paper asks of VCD (Sec. 3.1).
#
# The amplitude term carries most of the discrimination. The phase term is nearly the
# same for any change (the phase spectra of natural images are close to uniform, so
# their distributions barely differ) and adds a floor; in the shift comparison its
# ratio stays near 1. As a result, relative to appearance drift, the full frequency-
# space SWD is *less* tolerant of pure camera shifts here than the L2 (Eq. 4) and
# feature-space (Eq. 5) variants, whose amplitude-like terms dominate. The paper's
# argument for WD in frequency space rests on training behaviour (dynamic degree,
# App. C.3), which notebooks 04-06 test; this static check does not reproduce an
# advantage. The VGG19 here is a seeded random initialisation (offline stand-in, see
# the footer); with ImageNet weights (`vcd.encoder_weights: imagenet`) the balance of
# the terms can differ.
