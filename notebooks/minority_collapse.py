# ---
# jupyter:
#   jupytext:
#     text_representation:
#       extension: .py
#       format_name: percent
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Minority Collapse: do the minority classes' classifier rows collapse as imbalance grows?
#
# ## Overview
#
# **Question.** Fang et al.'s Layer-Peeled Model {cite}`fang2021layerpeeled` predicts that, as
# imbalance grows, the classifier rows of the minority classes collapse towards one direction,
# so that the network can no longer tell those classes apart (*Minority Collapse*). Do they?
#
# **Setup.** Cross-entropy runs of this dataset at a ladder of imbalance ratios, beside the
# balanced reference (ratio 1). For each run, the mean pairwise cosine of the minority classes'
# weight rows (the last half of the imbalance order) and of the majority classes' rows, and the
# same for their class-mean fe. These are cosines of trained weights, exact for each run: only
# seeds vary them.
#
# **Headline.** From the balanced run to {glue:md}`ratio_max`:1 the minority rows' mean cosine
# goes from {glue:md}`w_minority_bal` to {glue:md}`w_minority_max`, and the minority's excess over
# the majority from {glue:md}`w_excess_bal` to {glue:md}`w_excess_max`. Runs: {glue:md}`regime`.

# %% tags=["remove-cell"]
from fraglib import chapter, charts

# %% tags=["parameters"]
dataset = "fashion-mnist"  # the data of the ladder's runs
imbalance_ratio = 100.0    # the matrix's ratio (the ladder is the profile's own)
profile = "quick"          # tiny (CI) | quick (CPU) | paper (200 epochs)
seed = 0                   # weights and batch order of every run of the ladder
seeds = 1                  # seeds counted in the verdict (0 .. seeds-1)

# %% tags=["remove-input"]
study = chapter.open("COLLAPSE", dataset, "ce", imbalance_ratio, profile, seed, seeds)

# %% [markdown]
# ## The ladder

# %%
figs = chapter.headline(study, "COLLAPSE")
chapter.chart("collapse-ladder", charts.collapse_lines(figs))

# %% [markdown]
# ```{glue:figure} collapse-ladder
# :name: fig-collapse-ladder
#
# Mean pairwise cosine of the minority classes' (the last half of the imbalance order) and the
# majority classes' classifier rows and class-mean fe, cross-entropy runs at each ratio (Fang et
# al.'s Minority Collapse).
# ```
#
# ## Verdict

# %%
chapter.verdict(study, "COLLAPSE", seeds)

# %% [markdown]
# {glue:md}`verdict`
#
# {glue:md}`verdict_seeds`
