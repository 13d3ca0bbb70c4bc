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
# # RQ1: Can classifier re-training recover balanced performance?
#
# ## Overview
#
# **Question.** If class imbalance only tilted the classifier head and left the extractor's
# features intact, a head re-trained on balanced data would restore the accuracy of a network
# trained on balanced data. Does it?
#
# **Setup.** One network is trained on the balanced training set (the cross-entropy
# reference), one on the imbalanced set with this page's loss. The imbalanced network's
# extractor is frozen, the feature embeddings (fe) of the *full balanced* training set are
# extracted with it, and a fresh linear head is trained on them
# ({ref}`methods <methods-retraining>`): the paper's Table 1 {cite}`dablain2022fragility`,
# in the spirit of decoupled classifier re-training {cite}`kang2019decoupling`.
#
# **Headline.** The re-trained head reaches {glue:md}`retrain_bac`% balanced accuracy,
# against {glue:md}`bal_bac`% for the balanced-trained network and {glue:md}`bac`% for
# the imbalanced-trained one; the {glue:md}`paper_source` reports {glue:md}`paper_retrain_bac`,
# {glue:md}`paper_bal_bac` and {glue:md}`paper_bac`. Runs: {glue:md}`regime`.

# %% tags=["remove-cell"]
from fraglib import chapter, charts

# %% tags=["parameters"]
dataset = "fashion-mnist"  # the data both networks and the re-trained head see
loss = "ce"                # the imbalanced network's loss (the balanced one: ce)
imbalance_ratio = 100.0    # n_max / n_min the frozen extractor was trained at
profile = "quick"          # tiny (CI) | quick (CPU) | paper (200 epochs)
seed = 0                   # weights, batch order, the re-trained head's init
seeds = 1                  # seeds counted in the verdict (0 .. seeds-1)

# %% tags=["remove-input"]
study = chapter.open("RQ1", dataset, loss, imbalance_ratio, profile, seed, seeds)

# %% [markdown]
# ## Three balanced accuracies
#
# Balanced accuracy is the mean of the per-class recalls,
# $\mathrm{BAC} = \frac{1}{C}\sum_{c} \frac{|\{n : y_n = c,\ \hat y_n = c\}|}{|\{n : y_n = c\}|}$,
# measured on the balanced test set. `study.figures("RQ1")` computes the three of Table 1.

# %%
figs = chapter.headline(study, "RQ1")
rows = {"bal_bac": "balanced-trained", "bac": "imbalanced-trained",
        "retrain_bac": "classifier re-trained"}
chapter.paper_table(study, figs, rows)

# %%
chart = chapter.paper_bars(study, figs, rows, y_title="test BAC (%)")
chapter.chart("rq1-bac", chart)

# %% [markdown]
# ```{glue:figure} rq1-bac
# :name: fig-rq1-bac
#
# Test BAC of the three models, ours beside the paper's (its Table 1).
# ```
# %%
lost = figs.bal_bac - figs.bac   # imbalance may cost nothing: then none to win back
won = figs.retrain_bac - figs.bac
chapter.glue_number("recovered", 100 * won / lost if lost > 0 else float("nan"))

# %% [markdown]
# Of the balanced accuracy that imbalance costs, re-training the head alone wins back
# {glue:md}`recovered`% ("–" where imbalance cost nothing); the rest is not recovered by a linear
# head trained this way (whether it is lost in the extractor's features, or only out of reach of
# such a head, this test cannot say).
#
# ## Verdict

# %%
chapter.verdict(study, "RQ1")

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
chapter.multiverse(study, "RQ1")

# %% [markdown]
# ```{glue:figure} multiverse
# :name: fig-rq1-multiverse
#
# Each claim (rows) under every specification of the analysis choices it depends on (columns):
# its verdict over the seeds there.
# ```
