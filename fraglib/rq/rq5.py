"""RQ5 · Classifier weights (paper Fig. 7): do the classifier's weights explain the large minority ce?
"""
from __future__ import annotations

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
    # Scale-free (rescaling fe by a and W by 1/a changes no logit, and none of these): each class's
    # largest class-mean ce is a product f_c * w_c; the log excess of the other classes over the
    # majority, mean_c log(x_c) - log(x_majority), splits into the fe factor's and W's.
    excess_fe: float | None = None        # the fe factor's share of the others' excess (log)
    excess_w: float | None = None         # the W factor's
    weight_top: Array = arr()            # (C, 10) imbalanced run, sorted
    bal_weight_top: Array = arr()
    weight_top_sum: Array = arr()        # (C,)
    bal_weight_top_sum: Array = arr()


def largest_ce_factors(mu_fe, W, majority: int):
    """The log excess of the other classes over the majority in each factor of their largest
    class-mean ce (f_c * w_c at h = argmax_h mu_fe[c, h] W[c, h]): (fe's, W's), over leading axes
    (resamples). Their sum is the log excess of the ce itself; a rescaling of fe against W cancels."""
    mu_fe, W = np.asarray(mu_fe, float), np.asarray(W, float)
    W = np.broadcast_to(W, mu_fe.shape)
    h = np.nanargmax(np.nan_to_num(mu_fe * W, nan=-np.inf), axis=-1)[..., None]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = [np.log(np.take_along_axis(x, h, -1)[..., 0]) for x in (mu_fe, W)]

    def excess(lg):
        return np.nanmean(np.delete(lg, majority, axis=-1), axis=-1) - lg[..., majority]
    return excess(logs[0]), excess(logs[1])


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
                     "majority, the fe factor's share is larger than W's (scale-free)", "fe (W ≈ 1.2, ce > 8)",
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
