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
# **Question.** Fang et al.'s Layer-Peeled Model {cite}`fang2021layerpeeled` predicts that under
# *step* imbalance ($K_A$ majority classes of $n_A$ images, $K_B$ minority classes of $n_A / R$),
# as the ratio $R$ grows the classifier rows of the minority classes collapse towards one
# direction, so that the network can no longer tell those classes apart (*Minority Collapse*),
# while the majority's rows do not. Does it happen here, along a ladder of ratios?
#
# **Setup.** Each choice, beside what the authors' code (HornHehhf/LPM) does:
#
# | | LPM | here | why |
# |---|---|---|---|
# | imbalance | step, 5 majority classes | step, the first half of the classes ({ref}`methods <methods-collapse>`) | the model's setting |
# | ratios | from 10 upward | 1 (the balanced reference), then the profile's ladder up to as far as its data allows ({glue:md}`ratio_max`:1 here; the paper profile: {glue:md}`c_ladder_paper` on CIFAR-10) | the verdict reads the whole ladder, not one end |
# | classifier measure | mean pairwise cosine of the raw minority rows of W | the same (raw), and centred by W's mean row, which votes | a shared offset of all rows would otherwise count as collapse |
# | features | – | class-mean fe centred by the unweighted mean of the class means (the global training mean when balanced); centred by the instance-weighted global mean, and uncentred, shown, not voting | the weighted mean moves towards the majority as the ratio grows, so every centred minority mean would carry the offset minority − majority; post-ReLU means all lie in the positive orthant: uncentred cosines measure what they share |
# | augmentation | none | none (the quick profile's) | as LPM |
# | epoch | the last | the best validation epoch of the converged phase ({ref}`methods <methods-regime>`) | the book's selection rule, the same for every run |
#
# Every run of the ladder is a cross-entropy network of this dataset; each must be in the
# paper's regime (the table below). Cosines of trained weights and class means are one network
# per rung: no resampling noise, only seeds vary them.
#
# **Headline.** From the balanced run to {glue:md}`ratio_max`:1, the minority rows' mean pairwise
# cosine (W, centred) rises by {glue:md}`w_minority_rise`, the majority's by
# {glue:md}`w_majority_rise`; LPM's raw measure: {glue:md}`w_raw_minority_rise` and
# {glue:md}`w_raw_majority_rise`. The minority's class-mean fe (centred by the class means):
# {glue:md}`fe_minority_rise`, the majority's {glue:md}`fe_majority_rise`; centred by the weighted
# mean: {glue:md}`fe_weighted_minority_rise`; uncentred: {glue:md}`fe_raw_minority_rise`. The size of
# the rule: the minority's W cosine moves {glue:md}`w_minority_slope` per unit of log ratio, and the
# ladder goes a share {glue:md}`w_minority_way` of the way from the simplex value
# {glue:md}`simplex` (rows as far apart as they can be) to collapse (1). Runs: {glue:md}`regime`.

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
# Along the ladder of step-imbalance ratios: the mean cosine among the minority classes' rows (the
# last half of the imbalance order), among the majority's, and between the two groups, for the
# classifier's W (centred, and raw as LPM) and the class-mean fe (centred by the mean of the class
# means, which votes; by the instance-weighted global mean, and raw, shown).
# ```
#
# ## Verdict

# %%
chapter.verdict(study, "COLLAPSE")

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
chapter.multiverse(study, "COLLAPSE")

# %% [markdown]
# ```{glue:figure} multiverse
# :name: fig-collapse-multiverse
#
# Each claim (rows) under every specification of the analysis choices it depends on (columns):
# its verdict over the seeds there.
# ```
