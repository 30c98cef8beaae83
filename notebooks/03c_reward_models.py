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
# # 03c · Learned consistency rewards: an ICReward-style model and its MLP baseline
#
# ICReward (`../shared/papers/002_…`, `003_…`) learns an image-to-video consistency
# reward: one encoder shared by the conditioning image and the frames, and an
# image-consistency head in which the image's tokens attend to the frames'. Its
# baseline is an MLP on frozen image features and mean-pooled frame features. Both are
# built in `vcd.reward_models`.
#
# **Labels.** No human consistency labels exist offline, and ICReward's own labels were
# automatic VBench++ scores. Training on a score the evaluation also reports would make
# the evaluation circular, so the label is one no metric shares: the *known severity*
# of a synthetic appearance drift (colour, blur, restyling, content swap; 0 to 1, growing
# over the frames) laid over a natural-motion video of a training-split source. Motion
# alone is label-preserving. The models learn from pairs of videos of one source (the
# lower severity wins; equal severities are ties). The frozen features are the
# profile's VGG19: random in the embedded profile, a STAND-IN for ICReward's ViT.
# With real labelled pairs (`reward_models.labelled_pairs`: VideoAlign's CSV format,
# `path_A, path_B, prompt`, an A/B/same column per criterion and a column naming the
# conditioning image; `vcd.labelled_pairs`) the models learn those instead, split by
# image into training, early-stopping and test pairs.
#
# **Held out.** The test videos are rendered from the *evaluation* split's photographs,
# which neither these models nor the base model ever saw. VCD itself is scored the same
# way, as an untrained reference. The two models then serve as fine-tuning rewards
# (`+ICReward-style`, `+MLP reward`) and, with VCD, as best-of-N scorers (`05_evaluate`).

# %% tags=["parameters"]
params_file = None  # None: the repository's params.yaml

# %%
import time

import matplotlib.pyplot as plt
import pandas as pd

from vcd.data import load_original_images, read_split
from vcd.figures import plot_reward_models, save_figure
from vcd.files import write_csv, write_json
from vcd.frames import to_tensor
from vcd.layout import Layout
from vcd.provenance import profile_label, record
from vcd.reward_models import fit_reward_models, heldout_caption, save_scorer, scorer_config
from vcd.settings import Settings
from vcd.tables import write_flat_table

layout = Layout.discover()
settings = Settings.load(params_file or layout.params_file)
config, results = settings.reward_models, layout.reward_models
footer = profile_label(settings.profile)
dataset = settings.data.datasets[0]
train_items, eval_items = read_split(layout, dataset, "train"), read_split(layout, dataset, "eval")
min_side = settings.data.min_side
train_photos = {k: to_tensor(v) for k, v in load_original_images(train_items, min_side).items()}
heldout_photos = {k: to_tensor(v) for k, v in load_original_images(eval_items, min_side).items()}
print(f"training photographs: {sorted(train_photos)}; held-out (evaluation) photographs: {sorted(heldout_photos)}")

# %% [markdown]
# ## Train both heads on cached features, measure them held out

# %%
start = time.perf_counter()
fitted = fit_reward_models(
    config,
    settings.vcd,
    settings.video,
    train_photos,
    {it.id: it.caption for it in train_items},
    heldout_photos,
    root=layout.root,
)
seconds = time.perf_counter() - start
for scorer in fitted.scorers.values():
    save_scorer(scorer, layout.reward_models_dir, scorer_config(config, settings.vcd))
log = pd.concat([pd.DataFrame(rows).assign(reward_model=name) for name, rows in fitted.logs.items()], ignore_index=True)
write_csv(results.csv("train_log"), log)
write_csv(results.csv("heldout_scores"), fitted.heldout)
write_csv(results.csv("heldout_measures"), fitted.measures)
print(f"{seconds:.0f} s; {fitted.counts}")
write_flat_table(fitted.measures, results.markdown("heldout").with_suffix(""), heldout_caption(fitted.counts, footer))
fitted.measures.set_index("scorer").round(3)

# %% [markdown]
# ## Figures

# %%
fig = plot_reward_models(log, fitted.heldout, fitted.measures)
save_figure(fig, results.figure("reward_models"), footer=footer)
plt.show()

# %%
measures = fitted.measures.set_index("scorer")
write_json(
    results.metrics,
    {
        **{f"{name}_heldout_accuracy": float(measures.loc[name, "pairwise_accuracy"]) for name in measures.index},
        **{f"{name}_heldout_spearman": float(measures.loc[name, "spearman_with_severity"]) for name in measures.index},
        "seconds": round(seconds, 1),
        **fitted.counts,
    },
)
write_json(
    results.provenance,
    record(settings, layout.root, reward_models={n: s.provenance() for n, s in fitted.scorers.items()}),
)

# %% [markdown]
# **Reading.** Pairwise accuracy is the share of held-out pairs (two videos of one view
# of an evaluation photograph, different drift severities) that a scorer orders
# correctly; 0.5 is chance. Spearman's correlation ranks every held-out video, across
# images, by score against its severity. VCD needs no training; the learned models
# must generalise from training-split sources to photographs they never saw, and their
# training curves show where early stopping kept them (the best validation accuracy on
# training sources held out of the pairs). The README's comparison section reads the
# committed numbers.
