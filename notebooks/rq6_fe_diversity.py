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
# # RQ6: Is the diversity of class fe affected by imbalance?
#
# Each instance's top-K fe are the indices of its K = 7 largest feature embeddings. A class's
# top-K members are the features that most of its instances share; their coverage ratio is the
# share of the class holding each (Figure 8). The union of the instance sets is the number of
# features needed to describe the class (Figure 9). The paper finds minority classes described by
# a few features shared by almost all their instances, and the majority by many.

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
# ## Class top-K fe coverage ratio (Figure 8, imbalanced model)

# %%
ratio = charts.long_frame(mi["fe_member_ratio"], "class", "rank", "ratio")
ratio["feature"] = np.asarray(mi["fe_members"]).ravel().astype(str)
ratio["rank"] += 1
charts.heatmap(ratio, x="rank", y="class", value="ratio", text="feature", x_title="rank (feature index shown)",
               title="Figure 8: the ten most frequent top-7 fe per class and their coverage ratio")

# %% [markdown]
# ## Features needed to describe each class (Figure 9)

# %%
df = pd.concat([pd.DataFrame({"class": range(len(ms["features_to_describe_fe"])),
                              "features": ms["features_to_describe_fe"], "model": name})
                for name, ms in (("balanced-trained", mb), ("imbalanced-trained", mi))])
charts.by_class(df, y="features", color="model", title="Figure 9: size of the union of top-7 fe sets",
                y_title="features")

# %% [markdown]
# ## Class-mean fe, ten largest (Figure 10a)

# %%
df = charts.long_frame(mi["class_mean_fe_top"], "class", "rank", "value", model="imbalanced-trained")
df["rank"] += 1
charts.class_lines(df, x="rank", y="value", title="Figure 10a: ten largest class-mean fe (training set)",
                   x_title="rank", y_title="mean fe", facet=None)

# %%
fd = mi["features_to_describe_fe"]
glue("fd_maj", fd[mi["majority_class"]], display=False)
glue("fd_min", fd[mi["minority_class"]], display=False)

# %% [markdown]
# The imbalanced model needs {glue:text}`fd_maj` features to describe its majority class and
# {glue:text}`fd_min` for its minority class.

# %% [markdown]
# ## Verdict
#
# Each check below is computed from the two runs above; the paper's figure stands beside ours
# (for a dataset the paper did not use, its CIFAR-10 experiment with the same loss).

# %%
checks = study.claims("RQ6")
glue("verdict", Markdown(claims.sentence(checks)), display=False)
claims.table(checks)

# %% [markdown]
# {glue:md}`verdict`
