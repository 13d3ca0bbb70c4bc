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
# # EOS: three-phase training and the generalization gap in embedding space
#
# Dablain et al.'s follow-up (EOS, arXiv 2207.06080) measures the gap between a network's
# training and test feature embeddings per class, finds it wider for minority classes, and
# closes it in three phases: (1) train end-to-end on the imbalanced data; (2) re-balance the
# training set *in embedding space*; (3) fit a fresh linear head on the balanced embeddings.
# Its Expansive Over-Sampling (EOS) makes each synthetic point a convex combination of a
# minority sample and one of its nearest *enemies* (neighbours of another class). Here EOS
# stands beside random over-sampling, SMOTE and class-balanced re-sampling (cRT).

# %% tags=["parameters"]
dataset = "fashion-mnist"   # cifar10 | svhn | celeba | fashion-mnist
loss = "ce"                 # ce | focal | ldam-drw | cdt
imbalance_ratio = 100.0     # n_max / n_min of the imbalanced training set (phase 1)
profile = "quick"           # tiny (CI) | quick (CPU minutes) | paper (the 200-epoch regime)
seed = 0                    # weights, batch order, augmentation and sampling
k_enemies = 10              # EOS: a synthetic point's partner is one of this many nearest enemies

# %% tags=["remove-cell"]
import numpy as np
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from fraglib import charts, claims, eos
from fraglib.study import Study

charts.use_book_renderer()

# %% [markdown]
# Phase 1 is the stored imbalanced run; the balanced run is shown for contrast.

# %%
study = Study(dataset, loss, imbalance_ratio, profile, seed, progress=False)
emb, emb_bal = study.imbalanced.embeddings(), study.balanced.embeddings()
C = emb.num_classes
study

# %% [markdown]
# ## The generalization gap per class
#
# For each class: the distance between its mean fe in training and in test, and the spread of
# its fe around their mean in each set.

# %%
frames = []
for name, e in (("balanced-trained", emb_bal), ("imbalanced-trained", emb)):
    gap = eos.generalization_gap(e.fe_train, e.y_train, e.fe_test, e.y_test, C)
    for key, label in (("mean_gap", "|mean train - mean test|"), ("spread_train", "spread, train"),
                       ("spread_test", "spread, test")):
        frames.append(pd.DataFrame({"class": range(C), "value": gap[key], "measure": label, "model": name}))
gaps = pd.concat(frames)
charts.by_class(gaps, y="value", color="measure", facet="model",
                title="Train vs test feature embeddings per class", y_title="distance in fe space")

# %%
g = gaps[(gaps.model == "imbalanced-trained") & (gaps.measure == "|mean train - mean test|")].value.to_numpy()
counts = np.bincount(emb.y_train, minlength=C)
maj, mnr = int(counts.argmax()), int(counts.argmin())
glue("gap_maj", float(g[maj]), display=False)
glue("gap_min", float(g[mnr]), display=False)

# %% [markdown]
# In the imbalanced model the majority class's train and test means lie
# {glue:text}`gap_maj:.3f` apart, the minority class's {glue:text}`gap_min:.3f`.
#
# ## Phases 2 and 3: samplers side by side
#
# Every sampler re-balances the same training embeddings; a fresh linear head is fitted on each
# result (same head regime) and scored on the test set's fe.

# %%
rows = eos.compare(emb.fe_train, emb.y_train, emb.fe_test, emb.y_test, C, seed=seed, k=k_enemies)
results = pd.DataFrame(rows).set_index("sampler")
results.loc["end-to-end (phase 1 only)", "bac"] = study.imbalanced.metrics["test_bac"]
results.loc["end-to-end (phase 1 only)", "class_acc"] = None
results["bac"] = (100 * results["bac"]).round(2)
results[["bac", "n_train", "sampling_seconds", "head_seconds"]].rename(columns={"bac": "test BAC (%)"})

# %%
df = results.reset_index()[["sampler", "bac"]]
charts.alt.Chart(df, title="Test BAC by phase-2 sampler").mark_bar().encode(
    x=charts.alt.X("bac:Q", title="test BAC (%)", scale=charts.alt.Scale(zero=False)),
    y=charts.alt.Y("sampler:N", sort="-x", title=None), tooltip=["sampler", "bac"],
).properties(width=420, height=160)

# %%
acc = pd.concat([pd.DataFrame({"class": range(C), "accuracy": r["class_acc"], "sampler": r["sampler"]})
                 for r in rows])
charts.by_class(acc, y="accuracy", color="sampler", y_domain=[0, 1],
                title="Per-class test accuracy after phase 3", y_title="accuracy")

# %% [markdown]
# ## Verdict

# %%
bac = {r["sampler"]: r["bac"] for r in rows}
e2e = study.imbalanced.metrics["test_bac"]
best_other = max(bac[s] for s in ("ros", "smote", "crt"))
checks = [
    claims.Claim("EOS", "The train-test gap in fe is wider for the minority class than the majority",
                 "wider for minority classes", f"{g[mnr]:.3f} vs {g[maj]:.3f}",
                 "holds" if g[mnr] > g[maj] else "does not hold"),
    claims.Claim("EOS", "Three-phase training with EOS beats the end-to-end imbalanced model",
                 "higher BAC", f"{100 * bac['eos']:.2f} vs {100 * e2e:.2f}",
                 "holds" if bac["eos"] > e2e else "does not hold"),
    claims.Claim("EOS", "EOS beats re-sampling in embedding space (ROS, SMOTE, cRT)",
                 "higher BAC", f"{100 * bac['eos']:.2f} vs best {100 * best_other:.2f}",
                 "holds" if bac["eos"] > best_other else "does not hold"),
]
glue("verdict", Markdown(claims.sentence(checks)), display=False)
claims.table(checks)

# %% [markdown]
# {glue:md}`verdict`
