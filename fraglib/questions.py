"""The table of questions: one row per research question, the extensions included.

Every other table is derived from this one: the chapters the book executes and their order, the
table of contents' captions, the figure and claims functions a study applies, the costly
analyses trained runs are prepared with, the key figure of each comparison page, and which
verdicts the summary counts. Adding a question is one row here, plus its chapter
(`notebooks/<chapter>.py`), its figure function and its claims function.

A row's `runs` names the kind of study it reads (config.RUN_SETS): "pair" (the balanced
reference and the imbalanced run of one configuration), "ladder" (Minority Collapse's ratios),
"procrustean" (its four runs). Its `scope` says how many pages it gets: one per configuration of
the profile's matrix, or one per profile (the matrix's first dataset).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import claims as K
from . import extensions as X
from . import figures as F
from .config import RUN_SETS, check_choice

SCOPES = ("configuration", "profile")


@dataclass(frozen=True)
class KeyFigure:
    """The figure a comparison page draws for every configuration at once: one line per
    configuration over the classes (`per_class`: figures -> (C,) array), or grouped bars of
    scalar figures with their intervals (`bars`: field -> name)."""

    caption: str
    y_title: str
    per_class: Callable | None = None
    bars: tuple = ()                    # ((field, name), ...)


@dataclass(frozen=True)
class Question:
    id: str                     # "RQ3": the claims' and the figures' name for it
    chapter: str                # notebooks/<chapter>.py
    caption: str                # its part of the table of contents
    runs: str                   # the kind of study: a key of config.RUN_SETS
    figures: Callable           # figures.Record -> a Figures dataclass
    claims: Callable            # (ours, the paper's) -> list of claims.Claim
    key_figure: KeyFigure | None = None   # drawn on the comparison page (None: no comparison page)
    scope: str = "configuration"          # a page per configuration, or one per profile
    analyses: tuple = ()                  # figures.Analysis computed when the runs are trained
    on_summary: bool = True               # its verdicts are collected on the summary page
    needs_regime: bool = True             # its claims are about networks that memorise (the paper's)

    def __post_init__(self):
        check_choice("run set", self.runs, tuple(RUN_SETS))
        check_choice("scope", self.scope, SCOPES)


QUESTIONS = (
    Question("RQ1", "rq1_retraining", "RQ1 · Classifier re-training", "pair", F.rq1, K.rq1_claims,
             KeyFigure("Test BAC (%) of the three models of Table 1, every configuration.", "test BAC (%)",
                       bars=(("bal_bac", "balanced-trained"), ("bac", "imbalanced-trained"),
                             ("retrain_bac", "head re-trained"))),
             analyses=(F.RETRAIN,)),
    Question("RQ2", "rq2_generalization", "RQ2 · Generalization", "pair", F.rq2, K.rq2_claims,
             KeyFigure("Per-class test accuracy of the imbalanced networks (the paper's Figure 2).",
                       "test accuracy", per_class=lambda f: np.asarray(f.test_class_acc) / 100)),
    Question("RQ3", "rq3_top_k", "RQ3 · Top-K features", "pair", F.rq3, K.rq3_claims,
             KeyFigure("Class top-2 coverage of the imbalanced networks' training predictions (the paper's "
                       "Figure 3).", "top-2 coverage",
                       per_class=lambda f: np.asarray(f.class_coverage)[:, list(f.coverage_ks).index(2)])),
    Question("RQ4", "rq4_ce_diversity", "RQ4 · Diversity of ce", "pair", F.rq4, K.rq4_claims,
             KeyFigure("Each class's largest class-mean ce, imbalanced networks (the paper's Figures 4-5, "
                       "Table 3).", "largest class-mean ce",
                       per_class=lambda f: np.asarray(f.class_mean_ce_top)[:, 0])),
    Question("RQ5", "rq5_weights", "RQ5 · Classifier weights", "pair", F.rq5, K.rq5_claims,
             KeyFigure("Each class's ten largest |W| summed, imbalanced networks (the paper's Figure 7).",
                       "sum of the ten largest |W|", per_class=lambda f: f.weight_top_sum)),
    Question("RQ6", "rq6_fe_diversity", "RQ6 · Diversity of fe", "pair", F.rq6, K.rq6_claims,
             KeyFigure("Features needed to describe each class, imbalanced networks (the paper's Figure 9).",
                       "features", per_class=lambda f: f.features_to_describe)),
    Question("RQ7", "rq7_false_positives", "RQ7 · False positives", "pair", F.rq7, K.rq7_claims,
             KeyFigure("Frobenius distance of the class-mean fe of test TP and FP from training's (Fig. 10).",
                       "Frobenius norm", bars=(("frob_tp", "train vs TP"), ("frob_fp", "train vs FP")))),
    Question("EOS", "eos", "Extension · EOS three-phase training", "pair", X.eos_figures, K.eos_claims,
             KeyFigure("Test BAC (%) of three-phase training with EOS, the best other sampler and the "
                       "end-to-end network.", "test BAC (%)",
                       bars=(("e2e_bac", "end-to-end"), ("eos_bac", "EOS"), ("best_other_bac", "best other sampler"))),
             analyses=(X.EOS_ROWS, X.EOS_AUTHORS, X.EOS_FRESH)),
    Question("COLLAPSE", "minority_collapse", "Extension · Minority Collapse", "ladder", X.collapse_figures,
             K.collapse_claims, scope="profile"),
    Question("PT", "procrustean", "Extension · Procrustean training, our interpretation", "procrustean",
             X.procrustean_figures, K.procrustean_claims, scope="profile", needs_regime=False),
)
BY_ID = {q.id: q for q in QUESTIONS}
CHAPTERS = {q.chapter: q for q in QUESTIONS}


def question(name: str) -> Question:
    """A row by its id ("RQ3") or its chapter ("rq3_top_k"); an unknown name lists the valid ones."""
    if name in CHAPTERS:
        return CHAPTERS[name]
    check_choice("question", name, tuple(BY_ID))
    return BY_ID[name]
