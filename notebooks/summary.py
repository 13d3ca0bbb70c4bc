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
# same checks as in the chapters' verdicts, the extensions included: EOS, Minority Collapse and Procrustean training) for every
# configuration of this profile: the paper's figure, ours with its 95% bootstrap interval, and
# whether ours agrees. "holds" means the comparison holds in at least 97.5% of 1,000 bootstrap
# resamples of the images ({ref}`methods <methods-bootstrap>`); "holds (within noise)" that it
# holds on the images drawn but not that robustly; "direction only" that the sign agrees but the
# size the paper states is not reached; "outside the regime" that a run did not memorise its
# training set, so the check tests nothing ({ref}`methods <methods-regime>`).
#
# **Headline.** Of {glue:md}`n_checks` checks, {glue:md}`n_holds` hold beyond noise,
# {glue:md}`n_noise` hold within noise, {glue:md}`n_dir` hold in direction only and
# {glue:md}`n_fail` do not; {glue:md}`n_outside` come from runs outside the paper's regime.

# %% tags=["parameters"]
profile = "quick"          # tiny (CI) | quick (CPU) | paper (200 epochs)
seed = 0                   # weights, batch order, augmentation
seeds = 1                  # seeds counted in the verdict (0 .. seeds-1)

# %% tags=["remove-input"]
from fraglib import chapter, charts, claims

# %%
allc, runs = chapter.all_claims(profile, seed, seeds)
names = {claims.HOLDS: "n_holds", claims.NOISE: "n_noise", claims.DIRECTION: "n_dir",
         claims.FAILS: "n_fail", claims.OUTSIDE: "n_outside"}
for verdict, name in names.items():
    chapter.glue_number(name, int((allc.verdict == verdict).sum()))
chapter.glue_number("n_checks", len(allc))
allc.groupby(["configuration", "verdict"]).size().unstack(fill_value=0)

# %%
chapter.chart("summary-verdicts", charts.verdict_bars(allc))

# %% [markdown]
# ```{glue:figure} summary-verdicts
# :name: fig-summary-verdicts
#
# Verdicts per question and configuration.
# ```

# %% [markdown]
# ## Balanced accuracy of every run, and the regime
#
# The balanced run is the cross-entropy reference that every loss shares, as in the paper. A
# configuration is in the regime when both its runs fit at least 95% of every class's clean
# training images.

# %%
runs

# %% [markdown]
# ## Every check

# %%
cols = ["question", "configuration", "claim", "paper", "ours", "resamples holding",
        "verdict"]
cols += ["holds in (seeds)"] if seeds > 1 else []
allc[cols].style.hide(axis="index")
