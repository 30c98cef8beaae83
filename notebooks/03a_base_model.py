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
# # 03a · The base model (toy pre-training in the embedded profile)
#
# The paper fine-tunes pre-trained image-to-video models (Wan2.1, Open-Sora). Their
# weights cannot be downloaded here, so the embedded profile **trains a small
# `WanImageToVideoPipeline` of its own** (architecture: `model.toy` in `params.yaml`) on
# synthetic videos rendered from a pool of still images: views of the *training*
# photographs (crops at several scales, mirrored, colour-varied, some grey) and
# procedural images (`vcd/training_images.py`) -- never an evaluation image. Each video
# is a camera pan or tilt, a zoom, a cut-out moving across or a lighting change, and
# its first frame is exactly the conditioning image it is trained with.
#
# **This stage is frozen in `dvc.yaml`**: the trained model is committed with the
# repository (`models/base`, with its training log and record), so `dvc repro` reuses
# it; `make pretrain` runs this notebook again and retrains it from scratch. The record
# (`models/base/training.json`) names the settings and code the weights came from,
# and the pipeline refuses a model whose record no longer matches the checkout
# (`vcd/shipped.py`). With a hub model (`model.name: wan...`, paper profile) nothing is
# trained; the stage records which model is used. Whether the model is an
# image-to-video model at all is the next notebook's question (`03b_base_check`).

# %% tags=["parameters"]
params_file = None  # None: the repository's params.yaml

# %%
import json
import os
import time

import matplotlib.pyplot as plt
import torch

from vcd.data import load_original_images, read_split
from vcd.figures import plot_training_log, save_figure
from vcd.files import write_csv, write_json, write_text
from vcd.layout import Layout
from vcd.models import model_provenance
from vcd.provenance import cpu_name, profile_label, record
from vcd.settings import Settings
from vcd.shipped import training_inputs
from vcd.toy import pretrain_toy

layout = Layout.discover()
settings = Settings.load(params_file or layout.params_file)
model, pretrain = settings.model, settings.pretrain
torch.manual_seed(pretrain.seed)
dataset = settings.data.datasets[0]
train_items, eval_items = read_split(layout, dataset, "train"), read_split(layout, dataset, "eval")
print(f"model: {model.name}, train items: {len(train_items)}, eval items (never trained on): {len(eval_items)}")

# %% [markdown]
# ## Train (toy) or reference (hub model)

# %%
start = time.perf_counter()
if model.is_toy:
    pipe, log, videos = pretrain_toy(
        model,
        pretrain,
        settings.video,
        load_original_images(train_items, settings.data.min_side),
        {it.id: it.caption for it in train_items},
        [it.caption for it in train_items + eval_items],
        held_out={it.id for it in eval_items},
    )
    seconds = time.perf_counter() - start
    pipe.save_pretrained(layout.base_model, safe_serialization=True)
    write_csv(layout.base_model_log, log)
    origins = [v.image_id for v in videos]
    training = {
        "inputs": training_inputs(settings, layout),
        "train_items": [it.id for it in train_items],
        "videos": len(videos),
        "videos_from_photographs": sum(o != "procedural" for o in origins),
        "videos_from_procedural_images": origins.count("procedural"),
        "seconds": seconds,
        "seconds_by_phase": {phase: float(g.seconds.max()) for phase, g in log.groupby("phase")},
        "final_loss": {phase: float(g.loss.tail(50).mean()) for phase, g in log.groupby("phase")},
        "machine": {"cpu": cpu_name(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads()},
        "provenance": record(settings, layout.root, base_model=model_provenance(model, layout)),
    }
    write_json(layout.base_model_record, training)
    print(f"trained on {len(videos)} synthetic videos in {seconds / 60:.1f} min")
    fig = plot_training_log(log, title="Toy pre-training loss")
    save_figure(fig, layout.pretrain.figure("training_loss"), footer=profile_label(settings.profile))
    plt.show()
else:
    write_text(layout.base_model_reference, json.dumps(model_provenance(model, layout), indent=2) + "\n")
    print("hub model: nothing to train;", layout.base_model_reference.read_text())

# %% [markdown]
# **Reading.** The loss curves show the two phases: the VAE as an autoencoder, then the
# transformer by flow matching on the VAE's latents. The numbers that say whether the
# result is an image-to-video model -- frame 1 against held-out images, colour, motion,
# drift -- are measured in `03b_base_check`. The toy model is small and trained for
# minutes on a CPU: its numbers say nothing about Wan or Open-Sora.
