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
# # Every configuration side by side
#
# This page sets the configurations of one research question beside each other: the key
# figure for every dataset and loss, then every verdict row. Each configuration has a page of
# its own with the full story (listed below).

# %% tags=["parameters"]
q = "RQ3"                  # RQ1 ... RQ7 | EOS: a question with a key figure
profile = "quick"          # tiny (CI) | quick (CPU) | paper (200 epochs)
seed = 0                   # weights, batch order, augmentation
seeds = 1                  # seeds counted in the verdict (0 .. seeds-1)

# %% tags=["remove-input"]
from fraglib import chapter

studies = chapter.studies(q, profile, seed, seeds)
chapter.links(q, profile)

# %% [markdown]
# ## The key figure

# %% tags=["remove-input"]
chapter.key_figure(q, studies)

# %% [markdown]
# ```{glue:figure} key-figure
# :name: fig-key-figure
#
# {glue:md}`key_caption`
# ```

# %% [markdown]
# ## Every verdict

# %% tags=["remove-input"]
chapter.verdict_rows(q, studies)

# %% [markdown]
# {glue:md}`verdict_count`
