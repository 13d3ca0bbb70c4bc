"""RQ5 · Classifier weights (paper Fig. 7): do the classifier's weights explain the large minority ce?
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .. import measures as M
from ..claims import Claim, claim, ours_vs, pv, vs, with_interval
from ..figures import TOP_N, Array, Figures, KeyFigure, Question, Record, arr, dimensional, majority_minority


@dataclass(frozen=True)
class RQ5(Figures):
    """Fig. 7: classifier weights. Magnitudes of the head's *raw* W, also for a cosine head (its
    normalised rows all have norm 1, which would erase what RQ5 asks about: book/methods.md). The
    weights are parameters of the trained network, not a mean over instances: they have no
    bootstrap interval (only seeds vary them); the class-mean ce does."""

    w_sum_majority: float | None = dimensional()   # sum of the majority's ten largest |W| (imbalanced run)
    w_sum_minority: float | None = dimensional()
    w_max: float | None = dimensional()            # the largest |W|
    ce_max: float | None = dimensional()           # the largest class-mean ce (effective operands)
    # Gauge-free (rescaling fe[:, h] by a_h and W[:, h] by 1/a_h changes no logit, and none of these):
    # each other class's largest class-mean ce is a product f_c * w_c at its channel h_c; its log
    # excess over the majority at the same channel splits into the fe factor's and W's.
    excess_fe: float | None = None        # the fe factor's share of the others' excess (log)
    excess_w: float | None = None         # the W factor's
    weight_top: Array = arr()            # (C, 10) imbalanced run, sorted
    bal_weight_top: Array = arr()
    weight_top_sum: Array = arr()        # (C,)
    bal_weight_top_sum: Array = arr()


def largest_ce_factors(mu_fe, W, majority: int):
    """Which factor carries the other classes' larger top ce: each other class c at its own
    largest class-mean ce channel h_c (argmax_h mu_fe[c, h] W[c, h]), against the majority at the
    *same* channel: the fe factor's log excess log mu_fe[c, h_c] - log mu_fe[maj, h_c] and W's,
    log W[c, h_c] - log W[maj, h_c], averaged over the other classes (a class whose factor is not
    positive at that channel is left out); over leading axes (resamples). Comparing within one
    channel makes the split invariant to any per-channel rescale (fe[:, h] * a_h with W[:, h] / a_h,
    which the next layer compensates and which changes no logit), not only to one global scale:
    comparing each class's own top channel with the majority's own rested on the gauge weight
    decay picks."""
    mu_fe, W = np.asarray(mu_fe, float), np.asarray(W, float)
    W = np.broadcast_to(W, mu_fe.shape)
    h = np.nanargmax(np.nan_to_num(mu_fe * W, nan=-np.inf), axis=-1)[..., None]     # (..., C, 1)

    def excess(x):
        own = np.take_along_axis(x, h, -1)[..., 0]                                  # (..., C)
        maj = np.take_along_axis(np.broadcast_to(x[..., majority:majority + 1, :], x.shape), h, -1)[..., 0]
        with np.errstate(divide="ignore", invalid="ignore"):
            lg = np.where((own > 0) & (maj > 0), np.log(own) - np.log(maj), np.nan)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return np.nanmean(np.delete(lg, majority, axis=-1), axis=-1)
    return excess(mu_fe), excess(W)


def compute(rec: Record) -> RQ5:
    eb, ei = rec.pair()
    rs = rec.resamples
    maj, mnr = majority_minority(ei.num_classes)
    top_i, sum_i = M.weight_magnitudes(ei.weight, TOP_N)
    top_b, sum_b = M.weight_magnitudes(eb.weight, TOP_N)
    ce_i = M.class_mean_ce(ei.fe_eff_train, ei.weight_eff, ei.y_train, ei.num_classes)
    mu_rs = rs.train_imb.means(ei.fe_eff_train, key="fe_eff")
    ex_fe, ex_w = largest_ce_factors(M.class_means(ei.fe_eff_train, ei.y_train, ei.num_classes), ei.weight_eff, maj)
    ex_fe_rs, ex_w_rs = largest_ce_factors(mu_rs, ei.weight_eff, maj)
    boot = {"ce_max": np.nanmax(mu_rs * np.asarray(ei.weight_eff, np.float64)[None], axis=(1, 2)),
            "excess_fe": ex_fe_rs, "excess_w": ex_w_rs}
    return RQ5(w_sum_majority=float(sum_i[maj]), w_sum_minority=float(sum_i[mnr]),
               w_max=float(np.abs(ei.weight).max()), ce_max=float(np.nanmax(ce_i)),
               excess_fe=float(ex_fe), excess_w=float(ex_w),
               weight_top=top_i, bal_weight_top=top_b, weight_top_sum=sum_i, bal_weight_top_sum=sum_b,
               boot=boot)


def check(o: RQ5, p: RQ5) -> list[Claim]:
    return [
        claim("RQ5", "The majority's top-10 |W| sum exceeds the minority's",
              f"{pv(p, 'w_sum_majority')} vs {pv(p, 'w_sum_minority')}", vs(o.w_sum_majority, o.w_sum_minority),
              o, lambda f: f.w_sum_majority > f.w_sum_minority),
        claim("RQ5", "fe, not W, carries the other classes' larger top ce: of their log excess over the "
                     "majority at the same channel, the fe factor's share is larger than W's (invariant to any "
                     "per-channel rescale of fe against W)", "fe (W ≈ 1.2, ce > 8)",
              f"fe {with_interval(o, 'excess_fe')} vs W {with_interval(o, 'excess_w')}", o,
              lambda f: f.excess_fe > f.excess_w),
        claim("RQ5", "Class-mean ce reach values far above any weight (dimensional: fe and W can trade scale "
                     "without changing a logit, so this row does not vote)", f"{pv(p, 'ce_max')} vs {pv(p, 'w_max')}",
              ours_vs(o, "ce_max", "w_max"), o, lambda f: f.ce_max > f.w_max, descriptive=True),
    ]


PAPER = {
    # Sec. 5.5: "extreme minority classes (8 and 9) ... greater than 8.0, ... weights only approx. 1.2"
    ("cifar10", "ce"): RQ5(w_sum_majority=7.54, w_sum_minority=4.50, w_max=1.2, ce_max=8.0,
                           notes={"w_max": "classes 8-9, not the maximum", "ce_max": "classes 8-9, not the maximum"}),
    ("cifar10", "focal"): RQ5(w_sum_majority=4.89, w_sum_minority=3.48, w_max=1.29, ce_max=8.77),
    ("cifar10", "ldam-drw"): RQ5(w_sum_majority=11.68, w_sum_minority=5.80, w_max=2.36, ce_max=13.32),
    ("svhn", "ce"): RQ5(w_sum_majority=7.12, w_sum_minority=3.94, w_max=1.25, ce_max=6.50),
    ("celeba", "ce"): RQ5(w_sum_majority=5.51, w_sum_minority=4.38, w_max=1.04, ce_max=1.49),
}

QUESTION = Question(
    "RQ5", 5, "rq5_weights", "RQ5 · Classifier weights", "pair", compute, check, PAPER,
    KeyFigure("Each class's ten largest |W| summed, imbalanced networks (the paper's Figure 7).",
              "sum of the ten largest |W|", per_class=lambda f: f.weight_top_sum),
    constants={"top_n": (TOP_N, "the largest absolute weights of a class, summed")})
