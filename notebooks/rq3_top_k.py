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
# # RQ3: Does a CNN decide on a few relevant features?
#
# ## Overview
#
# **Question.** The head sums $H$ classification embeddings (ce) into each logit. How many of
# them does a prediction actually rest on, and do minority classes need fewer?
#
# **Setup.** For a training image $n$ with prediction $r(n)$ and runner-up $a(n)$, the
# instance top-K $K^*(n)$ is the smallest $K$ whose $K$ largest ce of the predicted class,
# plus its bias, exceed the runner-up's logit:
#
# $$K^*(n) = \min\Big\{K : \textstyle\sum_{j \le K} \mathrm{ce}_{(j)}[n, r(n)] + b_{r(n)}
#   > \mathrm{lg}[n, a(n)]\Big\},$$
#
# and the top-K coverage of a set of images is the share with $K^*(n) \le K$
# ({ref}`methods <methods-measures>`; the paper's Figure 3 {cite}`dablain2022fragility`).
#
# **Headline.** $K$ = {glue:md}`k94` of $H$ = {glue:md}`H` ce decide {glue:md}`c_coverage_level` of the imbalanced
# network's training predictions ({glue:md}`paper_source`: $K$ = {glue:md}`paper_k94`). With
# $K = 2$ they decide {glue:md}`c2_minority`% of the minority's and {glue:md}`c2_majority`%
# of the majority's. Runs: {glue:md}`regime`.

# %% tags=["remove-cell"]
from fraglib import chapter, charts

# %% tags=["parameters"]
dataset = "fashion-mnist"  # the data whose training predictions are covered
loss = "ce"                # the loss whose top-K ce are counted
imbalance_ratio = 100.0    # n_max / n_min of the imbalanced run
profile = "quick"          # tiny (CI) | quick (CPU) | paper (200 epochs)
seed = 0                   # weights and batch order behind the ce
seeds = 1                  # seeds counted in the verdict (0 .. seeds-1)

# %% tags=["remove-input"]
study = chapter.open("RQ3", dataset, loss, imbalance_ratio, profile, seed, seeds)

# %% [markdown]
# ## Class top-K coverage

# %%
figs = chapter.headline(study, "RQ3")
df = charts.coverage_frame(figs)
chart = charts.by_class(df, y="coverage", color="K", facet="model",
                        y_domain=[0, 1], title="", y_title="coverage ratio")
chapter.chart("rq3-coverage", chart)

# %% [markdown]
# ```{glue:figure} rq3-coverage
# :name: fig-rq3-coverage
#
# Class top-K coverage ratio on the training set, K in {2, 3, 5, 7} (the paper's Figure 3).
# ```
#
# If minority predictions rest on fewer ce, the curves for small $K$ climb towards the rare
# (high-index) classes in the imbalanced panel only; the verdict tests it.
#
# ## Coverage over every K

# %%
chapter.chart("rq3-coverage-curve", charts.coverage_curve(figs))

# %% [markdown]
# ```{glue:figure} rq3-coverage-curve
# :name: fig-rq3-coverage-curve
#
# Top-K coverage of all training predictions for every K.
# ```
#
# The balanced network needs $K$ = {glue:md}`bal_k94` for the same {glue:md}`c_coverage_level`. At $K$ =
# {glue:md}`c_k_of_64`, the paper's choice ({glue:md}`c_k_of_64` of 64), the worst-covered class is covered {glue:md}`c7_min`% in the imbalanced
# network and {glue:md}`bal_c7_min`% in the balanced one.
#
# ## Verdict

# %%
chapter.verdict(study, "RQ3")

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
chapter.multiverse(study, "RQ3")

# %% [markdown]
# ```{glue:figure} multiverse
# :name: fig-rq3-multiverse
#
# Each claim (rows) under every specification of the analysis choices it depends on (columns):
# its verdict over the seeds there.
# ```
