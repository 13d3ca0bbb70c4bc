"""RQ7 · False positives (paper Fig. 10): do test false positives' fe lie further from training's
than true positives', and does that survive drawing TP at the FP size?
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from .. import measures as M
from ..bootstrap import matched_means
from ..claims import Claim, claim, fmt, ours_vs, vs, with_interval
from ..figures import MEMBER_K, TOP_N, Array, Figures, KeyFigure, Question, Record, arr, dimensional


@dataclass(frozen=True)
class RQ7(Figures):
    """Fig. 10: class-mean fe in training vs test true and false positives (imbalanced run).

    TP and FP are grouped by *prediction* (the paper's reading: an FP of class c is an image
    predicted c that is not c). Every figure is over one class set, the classes with both TP and
    FP. A class has many more TP than FP as a rule, and a mean over fewer images lies further from
    any other mean: the `*_matched` figures draw each class's TP at the size of its FP (1,000
    draws; their mean, the draws in `boot`), the control the distance and overlap claims vote on."""

    frob_tp: float | None = dimensional()          # ||mu_train - mu_TP||_F over the classes kept
    frob_fp: float | None = dimensional()          # ||mu_train - mu_FP||_F
    frob_tp_matched: float | None = None  # ... TP drawn at each class's FP size (mean over draws)
    frob_fp_matched: float | None = None  # FP at their own size: the observed distance (no resamples: the
                                          # few FP are the noise the TP draws are judged against)
    frob_fp_by_label: float | None = None  # the other reading: misclassified images grouped by label
    fe_overlap_tp: float | None = None    # identity overlap of the 10 most frequent top-7 fe
    fe_overlap_fp: float | None = None
    fe_overlap_tp_matched: float | None = None
    fe_overlap_fp_matched: float | None = None   # the observed FP overlap (no resamples)
    ce_overlap_tp: float | None = None    # the same for ce of the predicted class
    ce_overlap_fp: float | None = None
    ce_overlap_tp_matched: float | None = None
    ce_overlap_fp_matched: float | None = None   # the observed FP overlap (no resamples)
    mag_tp: float | None = None           # the ten largest class-mean training fe, in TP, over training (ratio)
    mag_fp: float | None = None           # ... in FP ("approx. half of their training values")
    mag_tp_minority: float | None = None  # the same over the minority classes (the last half of the
    mag_fp_minority: float | None = None  # imbalance order), of which the paper says it
    classes_left_out: int | None = None   # classes with no TP or no FP, left out of every figure
    classes_no_tp: int | None = None      # ... of which with no test true positive
    classes_no_fp: int | None = None      # ... and with no test false positive
    fe_overlap_tp_by_class: Array = arr()
    fe_overlap_fp_by_class: Array = arr()
    mag_tp_by_class: Array = arr()
    mag_fp_by_class: Array = arr()
    mu_train_top: Array = arr()          # (C, 10) sorted class-mean fe
    mu_tp_top: Array = arr()
    mu_fp_top: Array = arr()


def _mean_kept(a):
    with warnings.catch_warnings():   # no class kept at all: nan
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=-1)


def _shared(e, rs) -> dict:
    """What RQ7's figures read under either FP grouping, made once per network (`Resample.cached`):
    the training and test values (fe, and fe / ce top-K membership), their class means and the
    true positives' (observed and in every resample), training's and the TP's top sets, and the
    features each class's magnitudes are summed over."""
    C, H = e.num_classes, e.fe_train.shape[1]
    tp, _ = M.tp_fp_groups(e.y_test, e.pred_test)
    r, _ = M.reference_and_adversary(M.logits(e.fe_eff_train, e.weight_eff, e.bias))
    ce_train = M.ce_of(e.fe_eff_train, e.weight_eff, r)
    ce_test = M.ce_of(e.fe_eff_test, e.weight_eff, e.pred_test)
    train_values = np.hstack([e.fe_train, M.top_k_indicator(e.fe_train, MEMBER_K), M.top_k_indicator(ce_train, MEMBER_K)])
    test_values = np.hstack([e.fe_test, M.top_k_indicator(e.fe_test, MEMBER_K), M.top_k_indicator(ce_test, MEMBER_K)])

    def sides(tr, tp_m):   # training's and the TP's (..., C, 3H) means, with the sets made from them
        (mu_tr, fe_tr, ce_tr), (_, fe_tp, ce_tp) = _split(tr, H), _split(tp_m, H)
        return {"tr": tr, "tp": tp_m, "fe_set": M.member_top_set(fe_tr), "ce_set": M.member_top_set(ce_tr),
                "fe_tp_set": M.member_top_set(fe_tp), "ce_tp_set": M.member_top_set(ce_tp),
                "top": M.magnitude_top(mu_tr)}
    obs = sides(M.class_means(train_values, e.y_train, C), M.class_means(test_values[tp >= 0], tp[tp >= 0], C))
    boot = sides(rs.train_imb.means(train_values, key="rq7_train"),
                 rs.test_imb.means(test_values, groups=tp, num_groups=C, key="rq7_tp"))
    return {"tp": tp, "n_tp": np.bincount(tp[tp >= 0], minlength=C), "test_values": test_values,
            "obs": obs, "boot": boot}


def _split(means, H):   # (..., C, 3H) -> mean fe, fe member share, ce member share
    return np.split(means, [H, 2 * H], axis=-1)


def compute(rec: Record, fp_grouping: str = "prediction") -> RQ7:
    """`fp_grouping` (an analysis choice, multiverse.py): a class's FP are the images predicted as
    it that are not it (the paper's reading), or its own images predicted as another class."""
    e = rec.embeddings["imbalanced"]
    rs = rec.resamples
    C, H = e.num_classes, e.fe_train.shape[1]
    sh = rs.test_imb.cached("rq7", lambda: _shared(e, rs))     # the same under either grouping
    tp, n_tp, test_values = sh["tp"], sh["n_tp"], sh["test_values"]
    _, fp = M.tp_fp_groups(e.y_test, e.pred_test)
    if fp_grouping == "label":
        fp = np.where(e.pred_test != e.y_test, e.y_test, -1)
    n_fp = np.bincount(fp[fp >= 0], minlength=C)
    kept = (n_tp > 0) & (n_fp > 0)
    minor = list(M.halves(C)[1])

    def split(means):
        return _split(means, H)

    def figures_of(side, fp_m):
        (mu_tr, fe_tr, ce_tr), (mu_tp, fe_tp, ce_tp), (mu_fp, fe_fp, ce_fp) = split(side["tr"]), split(side["tp"]), split(fp_m)
        fe_set, ce_set, top = side["fe_set"], side["ce_set"], side["top"]
        return {"frob_tp": M.frobenius_to(mu_tr, mu_tp, kept), "frob_fp": M.frobenius_to(mu_tr, mu_fp, kept),
                "fe_tp": M.top_member_overlap(fe_tr, fe_tp, kept, train_set=fe_set, group_set=side["fe_tp_set"]),
                "fe_fp": M.top_member_overlap(fe_tr, fe_fp, kept, train_set=fe_set),
                "ce_tp": M.top_member_overlap(ce_tr, ce_tp, kept, train_set=ce_set, group_set=side["ce_tp_set"]),
                "ce_fp": M.top_member_overlap(ce_tr, ce_fp, kept, train_set=ce_set),
                "mag_tp": M.top_magnitude_ratio(mu_tr, mu_tp, kept, top=top),
                "mag_fp": M.top_magnitude_ratio(mu_tr, mu_fp, kept, top=top)}

    tr, tp_means = sh["obs"]["tr"], sh["obs"]["tp"]
    fp_means = M.class_means(test_values[fp >= 0], fp[fp >= 0], C)
    obs = figures_of(sh["obs"], fp_means)
    boot_f = figures_of(sh["boot"], rs.test_imb.means(test_values, groups=fp, num_groups=C))
    matched = split(matched_means(test_values, tp, n_fp, rs.B, rec.seed))     # TP at each class's FP size
    mu_tr, fe_tr, ce_tr = split(tr)
    m = {"frob_tp_matched": M.frobenius_to(mu_tr, matched[0], kept),
         "fe_overlap_tp_matched": _mean_kept(M.top_member_overlap(fe_tr, matched[1], kept, train_set=sh["obs"]["fe_set"])),
         "ce_overlap_tp_matched": _mean_kept(M.top_member_overlap(ce_tr, matched[2], kept, train_set=sh["obs"]["ce_set"]))}
    wrong = np.where(e.pred_test != e.y_test, e.y_test, -1)                 # the other reading: by label
    mu_wrong = M.class_means(e.fe_test[wrong >= 0], wrong[wrong >= 0], C)
    boot = {"frob_tp": boot_f["frob_tp"], "frob_fp": boot_f["frob_fp"],
            "fe_overlap_tp": _mean_kept(boot_f["fe_tp"]), "fe_overlap_fp": _mean_kept(boot_f["fe_fp"]),
            "ce_overlap_tp": _mean_kept(boot_f["ce_tp"]), "ce_overlap_fp": _mean_kept(boot_f["ce_fp"]),
            "mag_tp": _mean_kept(boot_f["mag_tp"]), "mag_fp": _mean_kept(boot_f["mag_fp"]),
            "mag_tp_minority": _mean_kept(boot_f["mag_tp"][..., minor]),
            "mag_fp_minority": _mean_kept(boot_f["mag_fp"][..., minor]), **m}

    def top(mu):
        return M.top_values(np.nan_to_num(mu, nan=0.0), TOP_N)[0]

    no_tp, no_fp = int((n_tp == 0).sum()), int((n_fp == 0).sum())
    return RQ7(frob_tp=float(obs["frob_tp"]), frob_fp=float(obs["frob_fp"]),
               frob_tp_matched=float(np.mean(m["frob_tp_matched"])), frob_fp_matched=float(obs["frob_fp"]),
               fe_overlap_fp_matched=float(_mean_kept(obs["fe_fp"])), ce_overlap_fp_matched=float(_mean_kept(obs["ce_fp"])),
               frob_fp_by_label=float(M.frobenius_to(mu_tr, mu_wrong, kept & ~np.isnan(mu_wrong).any(1))),
               fe_overlap_tp=float(_mean_kept(obs["fe_tp"])), fe_overlap_fp=float(_mean_kept(obs["fe_fp"])),
               fe_overlap_tp_matched=float(np.nanmean(m["fe_overlap_tp_matched"])),
               ce_overlap_tp=float(_mean_kept(obs["ce_tp"])), ce_overlap_fp=float(_mean_kept(obs["ce_fp"])),
               ce_overlap_tp_matched=float(np.nanmean(m["ce_overlap_tp_matched"])),
               mag_tp=float(_mean_kept(obs["mag_tp"])), mag_fp=float(_mean_kept(obs["mag_fp"])),
               mag_tp_minority=float(_mean_kept(obs["mag_tp"][minor])),
               mag_fp_minority=float(_mean_kept(obs["mag_fp"][minor])),
               classes_left_out=int((~kept).sum()), classes_no_tp=no_tp, classes_no_fp=no_fp,
               fe_overlap_tp_by_class=obs["fe_tp"], fe_overlap_fp_by_class=obs["fe_fp"],
               mag_tp_by_class=obs["mag_tp"], mag_fp_by_class=obs["mag_fp"],
               mu_train_top=top(mu_tr), mu_tp_top=top(split(tp_means)[0]), mu_fp_top=top(split(fp_means)[0]),
               boot=boot)


FP = ("fp_grouping",)   # every claim here reads the FP groups
HALF = (0.35, 0.65)   # "approx. half of their training set values", taken as this range


def check(o: RQ7, p: RQ7) -> list[Claim]:
    left = (f"; {o.classes_left_out} classes left out: {o.classes_no_tp} with no TP, {o.classes_no_fp} "
            f"with no FP" if o.classes_left_out else "")
    raw_frob = claim("RQ7", "Test false positives' mean fe lie further from training's than true positives' "
                            f"(Frobenius norm{left}; raw: FP are fewer)", vs(p.frob_fp, p.frob_tp),
                     ours_vs(o, "frob_fp", "frob_tp"), o, lambda f: f.frob_fp > f.frob_tp, descriptive=True,
                     choices=FP)
    raw_fe = claim("RQ7", "The identity of the top fe is shared with training more by TP than by FP (overlap "
                          "of the 10 most frequent; raw)", vs(p.fe_overlap_tp, p.fe_overlap_fp),
                   ours_vs(o, "fe_overlap_tp", "fe_overlap_fp"), o, lambda f: f.fe_overlap_tp > f.fe_overlap_fp,
                   descriptive=True, choices=FP)
    return [
        raw_frob,
        claim("RQ7", "... and still with each class's TP drawn at the size of its FP (size-matched control)",
              "–", ours_vs(o, "frob_fp_matched", "frob_tp_matched"), o, lambda f: f.frob_fp_matched > f.frob_tp_matched,
              uncontrolled=raw_frob, choices=FP),
        raw_fe,
        claim("RQ7", "... and still with TP drawn at the FP size (size-matched control)", "–",
              ours_vs(o, "fe_overlap_tp_matched", "fe_overlap_fp_matched"), o,
              lambda f: f.fe_overlap_tp_matched > f.fe_overlap_fp_matched, uncontrolled=raw_fe, choices=FP),
        claim("RQ7", "... and the gap is wider for ce than for fe (TP at the FP size)",
              f"ce {vs(p.ce_overlap_tp, p.ce_overlap_fp)}",
              f"ce {ours_vs(o, 'ce_overlap_tp_matched', 'ce_overlap_fp_matched')}", o,
              lambda f: f.ce_overlap_tp_matched - f.ce_overlap_fp_matched > f.fe_overlap_tp_matched - f.fe_overlap_fp_matched,
              choices=FP),
        claim("RQ7", "The minority classes' FP reach lower magnitudes of their top training fe than their TP: about "
                     f"half of training's (sum of each class's ten largest class-mean training fe, test over train, "
                     f"over the minority half of the classes, as the paper states it; {HALF[0]:g}-{HALF[1]:g} taken "
                     f"as half; all classes: FP {fmt(o.mag_fp)} vs TP {fmt(o.mag_tp)})", "≈ 0.5 (FP) vs ≈ 1 (TP)",
              f"FP {with_interval(o, 'mag_fp_minority')} vs TP {with_interval(o, 'mag_tp_minority')}", o,
              lambda f: (f.mag_fp_minority < f.mag_tp_minority) & (f.mag_fp_minority < 1),
              lambda f: (f.mag_fp_minority >= HALF[0]) & (f.mag_fp_minority <= HALF[1]), choices=FP),
    ]


PAPER = {
    ("cifar10", "ce"): RQ7(frob_tp=2.36, frob_fp=12.42, fe_overlap_tp=0.96, fe_overlap_fp=0.70,
                           ce_overlap_tp=0.95, ce_overlap_fp=0.39),
    ("cifar10", "focal"): RQ7(frob_tp=1.73, frob_fp=9.00),
    ("cifar10", "ldam-drw"): RQ7(frob_tp=4.01, frob_fp=21.16),
    ("svhn", "ce"): RQ7(frob_tp=4.67, frob_fp=17.58),
    ("celeba", "ce"): RQ7(frob_tp=0.64, frob_fp=2.75),
}

QUESTION = Question(
    "RQ7", 7, "rq7_false_positives", "RQ7 · False positives", "pair", compute, check, PAPER,
    KeyFigure("Frobenius distance of the class-mean fe of test TP and FP from training's (Fig. 10).",
              "Frobenius norm", bars=(("frob_tp", "train vs TP"), ("frob_fp", "train vs FP"))),
    constants={"half": (f"{HALF[0]:g}-{HALF[1]:g}", "FP magnitudes 'approx. half' of training's, as a range")},
    choices=FP)
