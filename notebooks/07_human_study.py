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
# # 07 · The human evaluation study: design and analysis
#
# The paper's third kind of evidence (Sec. 4.2, App. C.1-C.2): raters see the
# conditioning image, two generated videos side by side in random left/right order and
# the prompt, and say which video is better, or a tie, on Temporal Consistency,
# Video-Text Alignment and Motion Naturalness; Fig. 8 and Table 4 report the votes.
#
# This notebook **designs** the study over the evaluation videos (`vcd.human_study`:
# the same (image, prompt, seed) videos for every pair, a trial order and sides per
# rater) and writes the manifest the rating app serves (`make rate`, `vcd/rating_app.py`).
# Once raters have voted and the organiser has exported their votes into
# `data/human_votes/`, the same stage **analyses** them (`vcd.human_analysis`): Table 4,
# Fig. 8, the paper's t-test beside a rater-level test, percent agreement, Fleiss'
# kappa and side bias. Without a votes file there is no analysis: no vote is ever
# simulated.

# %% tags=["parameters"]
params_file = None  # None: the repository's params.yaml

# %%
import matplotlib.pyplot as plt
import pandas as pd

from vcd.figures import plot_human_votes, save_figure
from vcd.files import write_csv, write_json, write_text
from vcd.human_analysis import agreement, read_votes, side_bias, significance, summary_metrics, table4
from vcd.human_study import build_study, write_study
from vcd.layout import Layout
from vcd.provenance import profile_label, record
from vcd.settings import Settings

layout = Layout.discover()
settings = Settings.load(params_file or layout.params_file)
config = settings.human_study
footer = profile_label(settings.profile)

# %% [markdown]
# ## The design
# One trial per (dataset, pair, video); every video and conditioning image is pinned by
# its SHA-256, so the app refuses to serve a file that changed after the design.

# %%
study = build_study(settings, layout)
write_study(layout, study)
trials = pd.DataFrame(study["trials"])
trials["pair"] = trials["pair"].str.join(" vs ")
print(f"study {study['study']}: {len(trials)} trials per rater, {len(study['raters'])} rater plans")
print("selection per dataset:", study["selection"])
trials.groupby(["dataset", "pair"]).size().rename("trials").to_frame()

# %% [markdown]
# Each rater's plan (the first trials of the first rater): their own order and sides,
# drawn from (seed, rater).

# %%
pd.DataFrame(study["raters"]["1"], columns=["trial", "left (video A)"]).head()

# %% [markdown]
# ## The votes
# Every CSV in `data/human_votes/` that the app exported for this study.

# %%
votes, other_studies = read_votes(layout.human_votes_dir, study["study"])
print(f"{len(votes)} votes of this study; rows of other studies, not analysed: {other_studies or 'none'}")

# %%
analysis = layout.human_analysis
if len(votes):
    table = table4(votes, config.pairs, config.criteria)
    tests = significance(votes)
    agree = agreement(votes)
    bias = side_bias(votes)
    write_csv(analysis.csv("table4"), table.round(2).reset_index())
    write_text(analysis.markdown("table4"), table.round(2).to_markdown())
    write_csv(analysis.csv("significance"), tests)
    write_csv(analysis.csv("side_bias"), bias)
    write_json(analysis.json("agreement"), agree)
    title = f"Human evaluation (Fig. 8 layout), {len(votes)} votes of study {study['study']}"
    fig = plot_human_votes(table, tests, title)
    save_figure(fig, analysis.figure("fig8_human_votes"), footer=footer)
    plt.show()
else:
    write_text(
        analysis.markdown("status"),
        f"No votes for study {study['study']} in {layout.relative(layout.human_votes_dir)}: nothing to analyse. "
        "Run `make rate`, collect votes, export them (`python -m vcd.rating_app export`) and rerun this stage.\n",
    )
    table = tests = bias = None
    agree = {}
write_json(layout.human_study.metrics, {"trials": len(trials), **summary_metrics(tests, agree)})
write_json(layout.human_study.provenance, record(settings, layout.root))

# %% [markdown]
# ## Reading the results
# Table 4's layout: per pair the share of votes for the first method, ties and the
# second method, per dataset and question. The paper marks a difference with `***`
# (p < 0.001) or `**` (p < 0.005) of its t-test; here that test (votes as the unit) stands
# beside the rater-level test (each rater's mean score one observation), which does not
# count one rater's consistent taste thirty times. Percent agreement near the paper's
# 82.9 % with a Fleiss' kappa near its 0.224 is what many ties produce: kappa corrects for
# the agreement the skewed category shares give by chance.

# %%
tests if tests is not None else "no votes yet"

# %%
(agree, bias) if len(votes) else "no votes yet"
