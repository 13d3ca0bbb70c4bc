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
# # RQ5: Do the classifier's weights explain the large minority ce?
#
# ## Overview
#
# **Question.** A ce is a product $\mathrm{fe}[n, h]\, W[c, h]$. Are the minority classes' large
# ce (RQ4) the work of large weights, or of large features?
#
# **Setup.** For each class, the ten largest $|W[c, h]|$ of the head's *raw* weight matrix and
# their sum (the paper's Figure 7 {cite}`dablain2022fragility`); for LDAM's cosine head
# {cite}`cao2019ldam` too, since its normalised rows all have norm 1
# ({ref}`methods <methods-measures>`). Beside them, the largest class-mean ce.
#
# **Headline.** The majority's ten largest weights sum to {glue:md}`w_sum_majority`, the
# minority's to {glue:md}`w_sum_minority` ({glue:md}`paper_source`:
# {glue:md}`paper_w_sum_majority` and {glue:md}`paper_w_sum_minority`). No weight exceeds
# {glue:md}`w_max`, while a class-mean ce reaches {glue:md}`ce_max`. Runs: {glue:md}`regime`.

# %% tags=["remove-cell"]
from fraglib import chapter, charts

# %% tags=["parameters"]
dataset = "fashion-mnist"  # the data the head's weights were fitted on
loss = "ce"                # the loss (ldam-drw: a cosine head, raw W kept)
imbalance_ratio = 100.0    # n_max / n_min of the imbalanced head
profile = "quick"          # tiny (CI) | quick (CPU) | paper (200 epochs)
seed = 0                   # weights init and batch order
seeds = 1                  # seeds counted in the verdict (0 .. seeds-1)

# %% tags=["remove-input"]
study = chapter.open("RQ5", dataset, loss, imbalance_ratio, profile, seed, seeds)

# %% [markdown]
# ## The ten largest weights per class

# %%
figs = chapter.headline(study, "RQ5")
chart = charts.ranked_lines(figs.bal_weight_top, figs.weight_top, "|W|")
chapter.chart("rq5-weights", chart)

# %% [markdown]
# ```{glue:figure} rq5-weights
# :name: fig-rq5-weights
#
# The ten largest \|W\| of each class's weight row, sorted (the paper's Figure 7).
# ```
#
# Compare the curves' spread with the class-mean ce of RQ4: if the weights stay in a narrow
# range while the ce do not, the features, not the weights, set the ce's scale.
#
# ## Weights against ce

# %%
rows = {"w_sum_majority": "top-10 |W| sum, majority",
        "w_sum_minority": "top-10 |W| sum, minority",
        "w_max": "largest |W|", "ce_max": "largest class-mean ce"}
chapter.paper_table(study, figs, rows)

# %% [markdown]
# Fang et al.'s Minority Collapse {cite}`fang2021layerpeeled`, the collapse of the minority
# classes' weight rows towards one direction as imbalance grows, has a chapter of its own
# (*Extension · Minority Collapse*), over a ladder of ratios.
#
# ## Verdict

# %%
chapter.verdict(study, "RQ5")

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
chapter.multiverse(study, "RQ5")

# %% [markdown]
# ```{glue:figure} multiverse
# :name: fig-rq5-multiverse
#
# Each claim (rows) under every specification of the analysis choices it depends on (columns):
# its verdict over the seeds there.
# ```
