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
# # RQ5: Does the magnitude of classifier weights vary with class imbalance?
#
# ce is the product of fe and the head's weights W. The paper's Figure 7 sorts each class's ten
# largest |W|: majority classes have a wider cross-section of large weights (a larger top-10
# sum), yet the weights stay near 1 while minority ce reach 8 or more, so W alone cannot explain
# the large minority ce. For a cosine head (LDAM) W is the normalised W/|W| (DESIGN.md).

# %% tags=["parameters"]
dataset = "fashion-mnist"   # cifar10 | svhn | celeba | fashion-mnist
loss = "ce"                 # ce | focal | ldam-drw | cdt
imbalance_ratio = 100.0     # n_max / n_min of the imbalanced training set (the other run is balanced)
profile = "quick"           # tiny (CI) | quick (CPU minutes) | paper (the 200-epoch regime)
seed = 0                    # weights, batch order and augmentation

# %% tags=["remove-cell"]
import numpy as np
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from fraglib import charts, claims
from fraglib.study import Study

charts.use_book_renderer()

# %% [markdown]
# The runs come from the run store (trained only if missing): the balanced cross-entropy reference,
# shared by every loss as in the paper, and this loss's imbalanced run. The last column says
# whether each is in the regime the paper studies: clean training accuracy of at least 95% in
# every class ({ref}`methods <methods-regime>`).

# %%
study = Study(dataset, loss, imbalance_ratio, profile, seed, progress=False)
bal, imb = study.balanced, study.imbalanced
mb, mi = bal.metrics["measures"], imb.metrics["measures"]
study

# %% [markdown]
# ## The ten largest |W| per class (Figure 7)

# %%
df = pd.concat([charts.long_frame(mb["weight_top"], "class", "rank", "value", model="balanced-trained"),
                charts.long_frame(mi["weight_top"], "class", "rank", "value", model="imbalanced-trained")])
df["rank"] += 1
charts.class_lines(df, x="rank", y="value", title="Figure 7: ten largest |W| per class, sorted",
                   x_title="rank", y_title="|W|")

# %%
row, paper_label = claims.paper_row(dataset, loss)
table = pd.DataFrame({
    "top-10 |W| sum, majority": [mb["weight_top_sum_majority"], mi["weight_top_sum_majority"], row.get("w_sum_majority")],
    "top-10 |W| sum, minority": [mb["weight_top_sum_minority"], mi["weight_top_sum_minority"], row.get("w_sum_minority")],
    "largest |W|": [mb["weight_largest"], mi["weight_largest"], row.get("w_max")],
    "largest class-mean ce": [mb["class_mean_ce_largest"], mi["class_mean_ce_largest"], row.get("ce_max")],
}, index=["balanced-trained", "imbalanced-trained", paper_label])
glue("w_max", mi["weight_largest"], display=False)
glue("ce_max", mi["class_mean_ce_largest"], display=False)
table.round(3)

# %% [markdown]
# The largest weight of the imbalanced model is {glue:text}`w_max:.2f`; its largest class-mean ce
# is {glue:text}`ce_max:.2f`.

# %% [markdown]
# ## Verdict
#
# Each check below is computed from the two runs above; the paper's figure stands beside ours
# (for a dataset the paper did not use, its CIFAR-10 experiment with the same loss).

# %%
checks = study.claims("RQ5")
glue("verdict", Markdown(claims.sentence(checks)), display=False)
claims.table(checks)

# %% [markdown]
# {glue:md}`verdict`
