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
# # Summary: every claim of the paper, every run
#
# Each row is one check of one of the paper's claims (the same checks as in the chapters'
# verdicts), for every configuration of this profile: the paper's figure, ours, and whether
# ours agrees. "direction only" means the sign agrees but the size the paper states is not
# reached.

# %% tags=["parameters"]
profile = "quick"           # tiny (CI) | quick (CPU minutes) | paper (the 200-epoch regime)
seed = 0                    # weights, batch order and augmentation

# %% tags=["remove-cell"]
import pandas as pd
from IPython.display import Markdown
from myst_nb import glue

from fraglib import charts, claims
from fraglib.book import MATRIX
from fraglib.study import Study

charts.use_book_renderer()

# %%
rows = []
for dataset, loss, ratio in MATRIX[profile]:
    study = Study(dataset, loss, ratio, profile, seed, progress=False)
    label = f"{dataset} · {loss} · {ratio:g}:1"
    regime = study.regime()
    in_regime = "yes" if study.in_regime else "NO: " + "; ".join(
        f"{name} run, class {r.worst_class} at {100 * r.worst_train_acc:.1f}%"
        for name, r in regime.items() if not r.in_regime)
    rows += [dict(c.row(), run=label, balanced_bac=study.balanced.metrics["test_bac"],
                  imbalanced_bac=study.imbalanced.metrics["test_bac"], in_regime=in_regime)
             for c in study.claims()]
allc = pd.DataFrame(rows)
counts = allc.groupby(["run", "verdict"]).size().unstack(fill_value=0)
glue("n_checks", len(allc), display=False)
glue("n_holds", int((allc.verdict == "holds").sum()), display=False)
glue("n_dir", int((allc.verdict == "direction only").sum()), display=False)
glue("n_fail", int((allc.verdict == "does not hold").sum()), display=False)
glue("n_outside", int((allc.verdict == claims.OUTSIDE).sum()), display=False)
counts

# %% [markdown]
# Of {glue:text}`n_checks` checks, {glue:text}`n_holds` hold, {glue:text}`n_dir` hold in direction
# only and {glue:text}`n_fail` do not; {glue:text}`n_outside` come from runs outside the paper's
# regime ({ref}`methods <methods-regime>`) and test nothing.

# %%
charts.alt.Chart(allc, title="Verdicts per research question and run").mark_bar().encode(
    x=charts.alt.X("count():Q", title="checks"), y=charts.alt.Y("RQ:N"),
    color=charts.alt.Color("verdict:N", scale=charts.alt.Scale(
        domain=["holds", "direction only", "does not hold", claims.OUTSIDE],
        range=["#2ca02c", "#ff7f0e", "#d62728", "#7f7f7f"])),
    row=charts.alt.Row("run:N", title=None), tooltip=["run", "RQ", "claim", "paper", "ours", "verdict"],
).properties(width=420, height=140)

# %% [markdown]
# ## Balanced accuracy of every run, and the regime
#
# The balanced run is the cross-entropy reference shared by every loss (as in the paper). A
# configuration is in the paper's regime when both its runs fit at least 95% of every class's
# clean training images.

# %%
bacs = allc.groupby("run")[["balanced_bac", "imbalanced_bac"]].first().mul(100).round(2)
bacs.join(allc.groupby("run")["in_regime"].first())

# %% [markdown]
# ## Every check

# %%
pd.set_option("display.max_colwidth", None)
allc[["RQ", "run", "claim", "paper", "ours", "verdict"]].sort_values(["RQ", "run"], kind="stable").reset_index(drop=True)
