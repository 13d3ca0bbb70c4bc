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
# # RQ4: Do majority classes rest on more diverse ce?
#
# ## Overview
#
# **Question.** If minority predictions rest on few features (RQ3), are those features also
# *larger*? The paper finds the minority classes' largest ce several times the majority's.
#
# **Setup.** The class-mean ce of class $c$ averages
# $\mathrm{ce}[n, c, h] = \mathrm{fe}'[n, h]\, W'[c, h]$ over the training images labelled $c$
# (with the head's effective operands; {ref}`methods <methods-embeddings>`). Table 3 compares
# the majority's largest class-mean ce with the mean of the other classes' largest; Table 4
# compares the share of the predicted logit carried by the single largest ce
# {cite}`dablain2022fragility`.
#
# **Headline.** The other classes' largest class-mean ce is {glue:md}`largest_ce_ratio` times
# the majority's (balanced network: {glue:md}`bal_largest_ce_ratio`; {glue:md}`paper_source`:
# {glue:md}`paper_largest_ce_ratio`); their largest ce carries {glue:md}`top_ce_share_ratio`
# times as large a share of the logit ({glue:md}`paper_top_ce_share_ratio` in the paper).
# Runs: {glue:md}`regime`.

# %% tags=["remove-cell"]
from fraglib import chapter, charts

# %% tags=["parameters"]
dataset = "fashion-mnist"  # the data whose class-mean ce are ranked
loss = "ce"                # the loss whose ce magnitudes are compared
imbalance_ratio = 100.0    # n_max / n_min: majority vs the others
profile = "quick"          # tiny (CI) | quick (CPU) | paper (200 epochs)
seed = 0                   # weights and batch order behind the ce
seeds = 1                  # seeds counted in the verdict (0 .. seeds-1)

# %% tags=["remove-input"]
study = chapter.open("RQ4", dataset, loss, imbalance_ratio, profile, seed, seeds)

# %% [markdown]
# ## The ten largest class-mean ce

# %%
figs = chapter.headline(study, "RQ4")
top = (figs.bal_class_mean_ce_top, figs.class_mean_ce_top)
chart = charts.ranked_lines(*top, y_title="class-mean ce")
chapter.chart("rq4-class-mean-ce", chart)

# %% [markdown]
# ```{glue:figure} rq4-class-mean-ce
# :name: fig-rq4-class-mean-ce
#
# The ten largest class-mean ce of each class, sorted (the paper's Figures 4 and 5).
# ```
#
# The paper's finding would show as the rare classes' top ranks standing above the
# majority's (class 0) in the imbalanced panel, not in the balanced one.
#
# ## Majority against the others

# %%
rows = {"largest_ce_majority": "largest ce, majority (Table 3)",
        "largest_ce_others": "largest ce, others (Table 3)",
        "largest_ce_ratio": "ratio others / majority (Table 3)",
        "top_ce_share_majority": "top ce / logit, majority (Table 4)",
        "top_ce_share_others": "top ce / logit, others (Table 4)",
        "top_ce_share_ratio": "ratio others / majority (Table 4)"}
chapter.paper_table(study, figs, rows)

# %%
df = charts.share_frame(figs.bal_top_ce_share, figs.top_ce_share)
chart = charts.by_class(df, y="share", color="rank", facet="model", title="",
                        y_title="share of the predicted logit")
chapter.chart("rq4-logit-share", chart)

# %% [markdown]
# ```{glue:figure} rq4-logit-share
# :name: fig-rq4-logit-share
#
# Each of the seven largest ce divided by the predicted logit, class mean (the paper's Figure
# 6).
# ```
#
# A larger share for the largest ce means fewer features carry the decision.
#
# ## Verdict

# %%
chapter.verdict(study, "RQ4")

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
chapter.multiverse(study, "RQ4")

# %% [markdown]
# ```{glue:figure} multiverse
# :name: fig-rq4-multiverse
#
# Each claim (rows) under every specification of the analysis choices it depends on (columns):
# its verdict over the seeds there.
# ```
