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
# # RQ2: How does class imbalance affect minority class generalization?
#
# ## Overview
#
# **Question.** A network that memorises its training set fits every class. Does it then
# recognise the minority classes' *test* images as well as the majority's?
#
# **Setup.** Per-class accuracy on the clean (un-augmented) training images and on the
# balanced test set, for the balanced reference and the imbalanced run: the paper's Figure 2
# and Table 2 {cite}`dablain2022fragility`. The minority is the last class of the imbalance
# order ({ref}`methods <methods-measures>`).
#
# **Headline.** The imbalanced network fits {glue:md}`min_train`% of its minority class's
# training images and recognises {glue:md}`min_test`% of its test images; the majority:
# {glue:md}`maj_train`% and {glue:md}`maj_test`%. The {glue:md}`paper_source` reports
# {glue:md}`paper_min_train`% and {glue:md}`paper_min_test`% for the minority. Across the classes,
# test accuracy falls as the class shrinks (rank correlation with the class index
# {glue:md}`test_acc_rank_corr`). The minority's training accuracy is a proportion of a handful
# of images, so its interval is exact (Clopper-Pearson), not a bootstrap's. Runs: {glue:md}`regime`.

# %% tags=["remove-cell"]
from fraglib import chapter, charts

# %% tags=["parameters"]
dataset = "fashion-mnist"  # the data whose per-class accuracy is measured
loss = "ce"                # the loss whose generalization gap is shown
imbalance_ratio = 100.0    # n_max / n_min: how rare the minority class is
profile = "quick"          # tiny (CI) | quick (CPU) | paper (200 epochs)
seed = 0                   # weights, batch order, augmentation
seeds = 1                  # seeds counted in the verdict (0 .. seeds-1)

# %% tags=["remove-input"]
study = chapter.open("RQ2", dataset, loss, imbalance_ratio, profile, seed, seeds)

# %% [markdown]
# ## Per-class train and test accuracy
#
# For class $c$, accuracy is the share of its images predicted $c$; the red line is the
# class's share of the largest class, $n_c / n_{\max}$.

# %%
figs = chapter.headline(study, "RQ2")
df = charts.accuracy_frame(figs)
chapter.chart("rq2-accuracy", charts.accuracy_lines(df))

# %% [markdown]
# ```{glue:figure} rq2-accuracy
# :name: fig-rq2-accuracy
#
# Per-class training (clean images) and test accuracy, and the class sizes, for both runs (the
# paper's Figure 2).
# ```
#
# In the paper's picture both networks fit their training images (blue near 1), and only the
# imbalanced one loses its rare classes' test images (green falling with the red line); the
# verdict below says whether this run shows it.
#
# ## Majority and minority

# %%
rows = {"maj_train": "train, majority (%)", "maj_test": "test, majority (%)",
        "min_train": "train, minority (%)", "min_test": "test, minority (%)"}
chapter.paper_table(study, figs, rows)

# %% [markdown]
# ## Verdict

# %%
chapter.verdict(study, "RQ2")

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
chapter.multiverse(study, "RQ2")

# %% [markdown]
# ```{glue:figure} multiverse
# :name: fig-rq2-multiverse
#
# Each claim (rows) under every specification of the analysis choices it depends on (columns):
# its verdict over the seeds there.
# ```
