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
# # Summary: every claim of the paper, every configuration
#
# ## Overview
#
# Each row below is one check of one of the paper's claims {cite}`dablain2022fragility` (the
# same checks as in the chapters' verdicts, the extensions included: EOS, Minority Collapse and
# Procrustean training) for every configuration of this profile: the paper's figure (its own
# statistic, noted where it is not ours), ours with its 95% interval, and the verdict
# ({ref}`methods <methods-bootstrap>`). "holds" means the comparison holds in at least {glue:md}`c_agree` of
# {glue:md}`c_resamples` bootstrap resamples of the images; "holds (within noise)" that it holds on the images
# drawn but not that robustly; "holds (one network)" that it compares quantities with no
# resampling noise (trained weights, a training history), so only seeds vary it; "direction
# only" that the sign agrees but the size the paper states is not reached; "about sample size"
# that it holds only without its size-matched control; "descriptive" rows (raw counts and
# distances whose control is the check) are shown and do not vote; "outside the regime" that a
# run did not memorise its training set, so the check tests nothing
# ({ref}`methods <methods-regime>`). Built with several seeds, a row's verdict is its verdict over
# the seeds: *robust* (it holds in every seed), *direction-stable* (the paper's direction in every
# seed, not every time beyond noise or at the paper's size), *mixed*, *failing*; seed 0's verdict
# and every seed's are beside it.
#
# **Headline.** {glue:md}`headline`

# %% tags=["parameters"]
profile = "quick"          # tiny (CI) | quick (CPU) | paper (200 epochs)
seed = 0                   # weights, batch order, augmentation
seeds = 1                  # seeds counted in the verdict (0 .. seeds-1)

# %% tags=["remove-input"]
from fraglib import chapter, charts

chapter.glue_constants()

# %%
allc, runs = chapter.all_claims(profile, seed, seeds)
chapter.summary_headline(allc, seeds)
allc.groupby(["configuration", "verdict"]).size().unstack(fill_value=0)

# %% tags=["remove-cell"]
chapter.hand_ledger_to_build(allc, chapter.multiverse_long(profile, seed, seeds))

# %%
chapter.chart("summary-verdicts", charts.verdict_bars(allc))

# %% [markdown]
# ```{glue:figure} summary-verdicts
# :name: fig-summary-verdicts
#
# Verdicts per question and configuration.
# ```
#
# The verdict kinds, each with its colour in the figure above, whether it votes, and whether it
# counts as holding when the seeds are counted (one table in `fraglib/verdicts.py` that every page
# reads):

# %% tags=["remove-input"]
chapter.verdict_legend()

# %% [markdown]
#
# Every check below is also in a machine-readable ledger, {download}`claims-ledger.csv`
# (and {download}`claims-ledger.json`), written by the build from this very page: each claim with its configuration, seeds, the paper's
# figure, ours with its interval, the verdict, its stability, the digests of the runs it read
# and the code version, so that a reader can cite the verdicts or diff two builds.
#
# ## Balanced accuracy of every run, and the regime
#
# The balanced run is the cross-entropy reference that every loss shares, as in the paper. A
# study is in the regime when each of its runs reaches {glue:md}`c_regime_rule`
# ({ref}`methods <methods-regime>`).

# %%
runs

# %% [markdown]
# ## Every check

# %%
chapter.summary_table(allc, seeds)

# %% [markdown]
# ## Across the analysis choices
#
# Where the paper leaves a choice open (the fe centre, Fig. 6's thresholds, the top-K reading, K and
# the coverage level, the Procrustean "early", EOS's phase 3, RQ7's FP grouping), the book's verdict
# is the default's, and every claim is also judged under each combination of the choices it depends
# on, for every seed, from the same stored runs ({ref}`methods <methods-multiverse>`). A row is
# *robust to the choices* when it holds in every seed under every specification,
# *choice-dependent* when its verdict over the seeds turns on a choice (the table names it),
# *short of robust under every choice* when one verdict, short of robust, comes out whatever the
# choices, and *failing under every choice* when it goes against the paper in every seed under
# every specification. Every row of every specification and seed is in
# {download}`claims-multiverse.csv`.
#
# {glue:md}`multiverse_headline`
#
# Which choices flip verdicts, across the book:

# %% tags=["remove-input"]
chapter.choices_that_matter(allc)

# %% [markdown]
# ## The selection gap: what choosing the epoch on the test set is worth
#
# The book picks each run's epoch on a validation split held out of the training data; the paper,
# LDAM-DRW and EOS pick it on the test set. Each run keeps the test-best and the last epoch of the
# same selection window as well ({ref}`methods <methods-multiverse>`), so that every claim above is
# also judged under both (the `selection` choice), and this table gives, for every run, test BAC at
# the epoch each rule picks.
#
# {glue:md}`selection_gap`

# %% tags=["remove-input"]
chapter.selection_gap(profile, seed, seeds)
