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
# # Toy: does the head have weights?
#
# The method's number here is {glue:md}`c_answer`.

# %% tags=["parameters"]
dataset = "fashion-mnist"  # the data
imbalance_ratio = 100.0    # n_max / n_min
profile = "tiny"           # tiny (CI)
seed = 0                   # weights init and batch order
seeds = 1                  # seeds counted in the verdict (0 .. seeds-1)

# %%
from fraglib import chapter

study = chapter.open("TOY", dataset, "ce", imbalance_ratio, profile, seed, seeds)
figs = chapter.headline(study, "TOY")

# %%
chapter.verdict(study, "TOY")
