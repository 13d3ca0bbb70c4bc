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
# # RQ6: Is the diversity of fe affected by imbalance?
#
# ## Overview
#
# **Question.** Do the images of a minority class switch on a narrower set of features than
# those of the majority?
#
# **Setup.** Each training image's top-7 fe (its seven largest feature embeddings). A class's
# *top-K members* are the features ranked by how many of its images hold them, and a member's
# coverage ratio is that count over the class size (the paper's Figure 8); the *features
# needed to describe a class* are the union of its images' top-7 sets (Figure 9)
# {cite}`dablain2022fragility`. Both grow with class size by construction
# ({ref}`methods <methods-measures>`).
#
# **Headline.** {glue:md}`fd_majority` features describe the imbalanced network's majority
# class and {glue:md}`fd_minority` its minority; {glue:md}`above90_minority` of the minority's
# top fe are held by over 90% of its images, {glue:md}`above90_majority` of the majority's
# ({glue:md}`paper_source`: {glue:md}`paper_above90_minority` and
# {glue:md}`paper_above90_majority`). At the minority's size ({glue:md}`n_matched` images drawn
# from every class) the majority needs {glue:md}`fd_majority_matched` features on average: the
# size-matched control below says how much of the gap is sample size. Runs: {glue:md}`regime`.

# %% tags=["remove-cell"]
from fraglib import chapter, charts

# %% tags=["parameters"]
dataset = "fashion-mnist"  # the data whose top-7 fe are counted
loss = "ce"                # the loss of the extractor measured
imbalance_ratio = 100.0    # n_max / n_min: how few minority images
profile = "quick"          # tiny (CI) | quick (CPU) | paper (200 epochs)
seed = 0                   # weights and batch order behind the fe
seeds = 1                  # seeds counted in the verdict (0 .. seeds-1)

# %% tags=["remove-input"]
study = chapter.open("RQ6", dataset, loss, imbalance_ratio, profile, seed, seeds)

# %% [markdown]
# ## Class top-K fe coverage

# %%
figs = chapter.headline(study, "RQ6")
chapter.chart("rq6-members", charts.member_heatmap(figs))

# %% [markdown]
# ```{glue:figure} rq6-members
# :name: fig-rq6-members
#
# Each class's ten most frequent top-7 fe (index shown) and the share of its images holding each
# (the paper's Figure 8).
# ```
#
# A ratio near 1 means nearly every image of the class relies on that feature.
#
# ## Features needed to describe a class

# %%
chart = charts.per_class(charts.size_matched_frame(figs), y_title="features")
chapter.chart("rq6-features", chart)

# %% [markdown]
# ```{glue:figure} rq6-features
# :name: fig-rq6-features
#
# Size of the union of the top-7 fe sets of each class's training images (the paper's Figure 9),
# and the same over as many images as the minority has, drawn from every class (the size-matched
# control). Bars: 95% bootstrap intervals; for the control, the spread over {glue:md}`c_resamples` draws.
# ```
#
# This count can only grow with the number of images in a class: a class of 1,000 images
# shows more distinct features than one of 10 even if both draw from the same features. The
# size-matched control compares every class at the minority's size, $n_{\min}$ images drawn
# without replacement, {glue:md}`c_resamples` times ({ref}`methods <methods-bootstrap>`). Where the imbalanced
# run's control line is flat, the fall of the raw count towards the rare classes is sample size,
# not diversity; the verdict's control rows say which.
#
# ## Verdict

# %%
chapter.verdict(study, "RQ6")

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
chapter.multiverse(study, "RQ6")

# %% [markdown]
# ```{glue:figure} multiverse
# :name: fig-rq6-multiverse
#
# Each claim (rows) under every specification of the analysis choices it depends on (columns):
# its verdict over the seeds there.
# ```
