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
# # Procrustean training: do weakened major classes let the minor ones be fitted?
#
# ## Overview
#
# **Question.** Ye, Zhan and Chao {cite}`ye2021procrustean` observe that with plain
# cross-entropy the minor classes are under-fitted first (most of their training images are
# predicted as major classes in early epochs) while their feature gradients are much larger,
# and propose to weaken the major classes' features so that the network cannot fit them first.
# Does that balance training across classes, and does it raise test BAC, most of all under
# step imbalance?
#
# **Setup.** No implementation of their method is public and only its abstract is at hand:
# what runs here is **our interpretation**, not the authors' method
# ({ref}`methods <methods-procrustean>`). Within each mini-batch an image of class $c$ is mixed
# with a random other image of the batch, $h' = (1 - \lambda_c) h + \lambda_c h_{\text{partner}}$,
# and keeps its label; $\lambda_c$ grows with the class's size, from 0 for the smallest classes
# to `strength` for the largest. The mixing site (the normalised images, or an intermediate
# feature map: this book mixes the latter) and the strength are `fraglib.config`'s
# `PROCRUSTEAN_SITE` and `PROCRUSTEAN_STRENGTH`. Four cross-entropy runs: plain and Procrustean, under
# exponential and step imbalance (100:1). Each run records, per epoch and class, on its *clean*
# training images (no mixing, eval mode) and on the batches it trains on: its accuracy, the
# share of its images predicted as a major class (the first half of the imbalance order) and
# the mean norm of each image's loss gradient with respect to its fe. The balance claims read
# the clean images: on mixed batches the major classes' accuracy falls by construction.
#
# **Headline.** In the first {glue:md}`early_epochs` epoch(s), plain CE predicts
# {glue:md}`ce_major_share_early`% of the minor classes' clean training images as major classes
# (Procrustean: {glue:md}`pt_major_share_early`%), and their fe gradients are
# {glue:md}`ce_grad_ratio_early` times the major classes' (Procrustean:
# {glue:md}`pt_grad_ratio_early`). Test BAC: {glue:md}`ce_bac_exp`% → {glue:md}`pt_bac_exp`%
# under exponential imbalance, {glue:md}`ce_bac_step`% → {glue:md}`pt_bac_step`% under step.

# %% tags=["remove-cell"]
from fraglib import chapter, charts

# %% tags=["parameters"]
dataset = "fashion-mnist"  # the data of the four runs
imbalance_ratio = 100.0    # n_max / n_min of all four runs
profile = "quick"          # tiny (CI) | quick (CPU) | paper (200 epochs)
seed = 0                   # weights, batch order and the mixing partners
seeds = 1                  # seeds counted in the verdict (0 .. seeds-1)

# %% tags=["remove-input"]
study = chapter.open("PT", dataset, "ce", imbalance_ratio, profile, seed, seeds)
figs = chapter.headline(study, "PT")

# %% [markdown]
# Mixing keeps a network from memorising its training images, so the Procrustean runs need not
# reach the paper's regime (the table's last column); that is the method at work, not a failed
# run, and the checks below are about training dynamics and test BAC, not the fragility claims.
#
# ## Who is fitted first

# %%
chapter.chart("pt-curves", charts.procrustean_curves(figs))

# %% [markdown]
# ```{glue:figure} pt-curves
# :name: fig-pt-curves
#
# Per epoch, exponential imbalance, on the clean training images: the share of the minor classes'
# images predicted as a major class, the ratio of their mean fe-gradient norm to the major
# classes', and the spread of per-class accuracy; last, that spread on the training batches
# (mixed, for Procrustean training), where mixing lowers it by construction.
# ```
#
# The abstract's picture: for plain CE, a share of minor images predicted major that starts
# high (they go to the major classes) and a gradient ratio well above 1; Procrustean training
# should pull both towards balance (share down, ratio towards 1), on the clean images too.
#
# ## Verdict

# %%
chapter.verdict(study, "PT")

# %% [markdown]
# {glue:md}`verdict`
#
# {glue:md}`verdict_seeds`

# ## Across the analysis choices
#
# Where the paper leaves a choice open, each claim is also judged under every combination of the
# choices it depends on, for every seed, from the same runs ({ref}`methods <methods-multiverse>`).
# {glue:md}`multiverse_text`

# %%
chapter.multiverse(study, "PT")

# %% [markdown]
# ```{glue:figure} multiverse
# :name: fig-pt-multiverse
#
# Each claim (rows) under every specification of the analysis choices it depends on (columns):
# its verdict over the seeds there.
# ```
