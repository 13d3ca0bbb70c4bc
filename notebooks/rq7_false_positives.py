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
# # RQ7: What do the fe of test false positives say?
#
# ## Overview
#
# **Question.** When the network is wrong on a test image, do that image's features resemble
# what the network saw in training for the predicted class, in which features are active and in
# how strongly?
#
# **Setup.** For each class $c$: the mean fe $\mu_{\text{train}}[c]$ over its training images,
# $\mu_{\text{TP}}[c]$ over test images predicted $c$ and labelled $c$, and
# $\mu_{\text{FP}}[c]$ over test images predicted $c$ but labelled otherwise. Distances are
# Frobenius norms over the $(C, H)$ matrices, $\lVert \mu_{\text{train}} - \mu_{\text{TP}}\rVert_F$
# and $\lVert \mu_{\text{train}} - \mu_{\text{FP}}\rVert_F$, over the classes with both TP and FP;
# identity overlap is the share of a class's ten most frequent top-7 training fe that are also
# most frequent in TP (or FP); the magnitude ratio sums each class's ten largest class-mean
# training fe in TP (or FP) over training ({ref}`methods <methods-measures>`; the paper's
# Figure 10 {cite}`dablain2022fragility`). A class has far fewer FP than TP, and a mean over
# fewer images lies further from any other mean: the checks that vote judge each class's
# observed FP figure against its TP drawn at the size of its FP (the size-matched control). Under
# LDAM-DRW the head is a cosine head: it sees $s\,\mathrm{fe}/\lVert\mathrm{fe}\rVert$, while
# these distances and magnitudes read the raw fe, whose norm the head ignores.
#
# **Headline.** The false positives' class means lie {glue:md}`frob_fp` from training's, the
# true positives' {glue:md}`frob_tp`, and {glue:md}`frob_tp_matched` when drawn at the FP size
# ({glue:md}`paper_source`: {glue:md}`paper_frob_fp` and {glue:md}`paper_frob_tp`). The FP reach
# {glue:md}`mag_fp` of the training magnitudes of their top features, the TP
# {glue:md}`mag_tp`; over the minority classes, of which the paper says it (about half, for FP),
# {glue:md}`mag_fp_minority` and {glue:md}`mag_tp_minority`. Classes with no test true positive
# ({glue:md}`classes_no_tp` here) or no false positive ({glue:md}`classes_no_fp`) are left out
# of every figure: {glue:md}`classes_left_out` in all. Runs: {glue:md}`regime`.

# %% tags=["remove-cell"]
from fraglib import chapter, charts

# %% tags=["parameters"]
dataset = "fashion-mnist"  # the data whose test TP and FP are split
loss = "ce"                # the loss of the network that errs
imbalance_ratio = 100.0    # n_max / n_min of the imbalanced run
profile = "quick"          # tiny (CI) | quick (CPU) | paper (200 epochs)
seed = 0                   # weights and batch order of the erring network
seeds = 1                  # seeds counted in the verdict (0 .. seeds-1)

# %% tags=["remove-input"]
study = chapter.open("RQ7", dataset, loss, imbalance_ratio, profile, seed, seeds)

# %% [markdown]
# ## Mean fe in training, test TP and test FP

# %%
figs = chapter.headline(study, "RQ7")
chapter.chart("rq7-means", charts.alignment_lines(figs))

# %% [markdown]
# ```{glue:figure} rq7-means
# :name: fig-rq7-means
#
# The ten largest class-mean fe in training, in test true positives and in test false positives
# (the paper's Figure 10).
# ```
#
# In the paper the FP panel sits well below the training panel (weaker features than the
# class's training images), while the TP panel matches it; the magnitude check below measures
# this here.
#
# ## Distances and overlaps

# %%
rows = {"frob_tp": "‖μ_train − μ_TP‖_F", "frob_fp": "‖μ_train − μ_FP‖_F",
        "frob_tp_matched": "‖μ_train − μ_TP‖_F, TP at the FP size",
        "frob_fp_by_label": "‖μ_train − μ_missed‖_F, by label (other reading)",
        "fe_overlap_tp": "fe identity overlap, TP",
        "fe_overlap_fp": "fe identity overlap, FP",
        "fe_overlap_tp_matched": "fe identity overlap, TP at the FP size",
        "ce_overlap_tp": "ce identity overlap, TP",
        "ce_overlap_fp": "ce identity overlap, FP",
        "mag_tp": "top-10 training fe magnitude, TP / train",
        "mag_fp": "top-10 training fe magnitude, FP / train",
        "classes_no_tp": "classes with no test TP",
        "classes_no_fp": "classes with no test FP",
        "classes_left_out": "classes left out (no TP or no FP)"}
chapter.paper_table(study, figs, rows)

# %%
df = charts.overlap_frame(figs)
chart = charts.by_class(df, y="overlap", color="set", y_domain=[0, 1], title="",
                        y_title="identity overlap")
chapter.chart("rq7-overlap", chart)

# %% [markdown]
# ```{glue:figure} rq7-overlap
# :name: fig-rq7-overlap
#
# Share of each class's ten most frequent top-7 training fe that are also most frequent in its
# test TP or FP.
# ```
#
# High overlap for both TP and FP would mean the same features switch on and only their
# magnitude differs, the paper's reading of its Figure 10.
#
# ## Verdict

# %%
chapter.verdict(study, "RQ7")

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
chapter.multiverse(study, "RQ7")

# %% [markdown]
# ```{glue:figure} multiverse
# :name: fig-rq7-multiverse
#
# Each claim (rows) under every specification of the analysis choices it depends on (columns):
# its verdict over the seeds there.
# ```
