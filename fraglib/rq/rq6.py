"""RQ6 · Diversity of fe (paper Figs. 8-9): do minority classes use fewer, more shared features, and
does that survive the size-matched control?
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import measures as M
from ..bootstrap import matched_draws
from ..claims import Claim, claim, ours_vs, vs
from ..figures import MEMBER_K, TOP_N, Array, Figures, KeyFigure, Question, Record, arr, majority_minority

ABOVE = 0.9      # Fig. 8: "present in over 90% of class instances"


@dataclass(frozen=True)
class RQ6(Figures):
    """Figs. 8-10a: diversity of fe, with the size-matched control (book/methods.md): the same counts
    over `n_matched` images drawn without replacement from every class (the minority's size),
    repeated; `boot` then holds the draws of the `*_matched` figures."""

    fd_majority: int | None = None        # Fig. 9: features needed to describe the majority (imbalanced)
    fd_minority: int | None = None
    above90_majority: int | None = None   # Fig. 8: top-K fe held by > 90% of the majority's instances
    above90_minority: int | None = None
    ratio_max_majority: float | None = None  # Fig. 8: the majority's largest top-K fe coverage ratio
    n_matched: int | None = None          # the control's class size: the minority's
    fd_majority_matched: float | None = None       # mean over draws of n_matched majority images
    fd_minority_matched: float | None = None       # the minority at its own size (itself)
    above90_majority_matched: float | None = None
    above90_minority_matched: float | None = None
    fe_members: Array = arr()            # (C, 10) imbalanced run: the ten most frequent top-7 fe
    fe_member_ratio: Array = arr()       # (C, 10) their coverage ratios
    features_to_describe: Array = arr()  # (C,) imbalanced run
    bal_features_to_describe: Array = arr()
    features_to_describe_matched: Array = arr()   # (C,) mean over draws of n_matched images
    class_mean_fe_top: Array = arr()     # (C, 10) imbalanced run, sorted


def _above90(ratio):
    """How many of the ten most frequent top-K fe are held by over 90% of the instances (the
    ten most frequent include every feature above 90%, so: min(10, count above 90%))."""
    return np.minimum((np.nan_to_num(ratio) > ABOVE).sum(-1), TOP_N)


def _size_matched(ind, y, num_classes: int, n: int, draws: int, seed: int):
    """(draws, C) features needed to describe, and above-90% counts, over n images per class."""
    y = np.asarray(y)
    fd, above = np.zeros((draws, num_classes), int), np.zeros((draws, num_classes), int)
    for c, idx in enumerate(matched_draws(y, num_classes, n, draws, seed)):
        k = idx.shape[1]
        if k == 0:
            continue
        if k == (y == c).sum():                    # the whole class (the minority): every draw alike
            counts = ind[idx[0]].sum(0)[None]
        else:                                      # member counts of each draw, in bounded chunks
            step = max(1, 2 ** 24 // (k * ind.shape[1]))
            counts = np.concatenate([ind[idx[i:i + step]].sum(1) for i in range(0, draws, step)])
        fd[:, c] = (counts > 0).sum(-1)
        above[:, c] = _above90(counts / k)
    return fd, above


def compute(rec: Record) -> RQ6:
    eb, ei = rec.pair()
    rs = rec.resamples
    C = ei.num_classes
    maj, mnr = majority_minority(C)
    ind_i, ind_b = M.top_k_indicator(ei.fe_train, MEMBER_K), M.top_k_indicator(eb.fe_train, MEMBER_K)
    counts_i, counts_b = M.indicator_counts(ind_i, ei.y_train, C), M.indicator_counts(ind_b, eb.y_train, C)
    sizes = np.bincount(ei.y_train, minlength=C)
    members, ratio = M.class_top_k_coverage_ratio(counts_i, sizes, TOP_N)
    above = _above90(ratio)
    fd_i, fd_b = M.features_to_describe(counts_i), M.features_to_describe(counts_b)
    ratio_rs = rs.train_imb.means(ind_i, key="fe_members")             # (B, C, H)
    n = int(sizes[mnr])
    fd_m, above_m = _size_matched(ind_i, ei.y_train, C, n, rs.B, rec.seed)
    boot = {"fd_majority": (ratio_rs[:, maj] > 0).sum(1), "fd_minority": (ratio_rs[:, mnr] > 0).sum(1),
            "above90_majority": _above90(ratio_rs[:, maj]), "above90_minority": _above90(ratio_rs[:, mnr]),
            "features_to_describe": (ratio_rs > 0).sum(2),
            "bal_features_to_describe": (rs.train_bal.means(ind_b, key="fe_members") > 0).sum(2),
            "fd_majority_matched": fd_m[:, maj], "above90_majority_matched": above_m[:, maj],
            "features_to_describe_matched": fd_m}
    return RQ6(fd_majority=int(fd_i[maj]), fd_minority=int(fd_i[mnr]), above90_majority=int(above[maj]),
               above90_minority=int(above[mnr]), ratio_max_majority=float(np.nanmax(ratio[maj])),
               n_matched=n, fd_majority_matched=float(fd_m[:, maj].mean()), fd_minority_matched=float(fd_i[mnr]),
               above90_majority_matched=float(above_m[:, maj].mean()),
               above90_minority_matched=float(above[mnr]),
               fe_members=members, fe_member_ratio=ratio, features_to_describe=fd_i,
               bal_features_to_describe=fd_b, features_to_describe_matched=fd_m.mean(0),
               class_mean_fe_top=M.top_values(M.class_means(ei.fe_train, ei.y_train, C), TOP_N)[0], boot=boot)


def check(o: RQ6, p: RQ6) -> list[Claim]:
    n = f"{o.n_matched} images per class"
    raw_fd = claim("RQ6", "More top-K fe are needed to describe the majority class than the minority (Fig. 9; "
                          "raw counts grow with class size)", "majority > minority",
                   ours_vs(o, "fd_majority", "fd_minority", ".0f"), o, lambda f: f.fd_majority > f.fd_minority,
                   descriptive=True)
    raw_90 = claim("RQ6", "Minority classes have more top-K fe present in over 90% of their instances (Fig. 8; "
                          "raw counts)", vs(p.above90_minority, p.above90_majority, "d"),
                   ours_vs(o, "above90_minority", "above90_majority", ".0f"), o,
                   lambda f: f.above90_minority > f.above90_majority, descriptive=True)
    return [
        raw_fd,
        claim("RQ6", f"... and still at the minority's size (size-matched control, {n})", "–",
              ours_vs(o, "fd_majority_matched", "fd_minority_matched", ".1f"), o,
              lambda f: f.fd_majority_matched > f.fd_minority_matched, uncontrolled=raw_fd),
        raw_90,
        claim("RQ6", f"... and still at the minority's size (size-matched control, {n})", "–",
              ours_vs(o, "above90_minority_matched", "above90_majority_matched", ".1f"), o,
              lambda f: f.above90_minority_matched > f.above90_majority_matched, uncontrolled=raw_90),
    ]


PAPER = {
    # Fig. 8: "the majority class shows no top-K fe coverage ratio greater than 67%, whereas the
    # extreme minority classes (8 & 9) have 4 and 5 fe ... present in over 90% of class instances"
    ("cifar10", "ce"): RQ6(above90_majority=0, above90_minority=5, ratio_max_majority=0.67),
}

QUESTION = Question(
    "RQ6", 6, "rq6_fe_diversity", "RQ6 · Diversity of fe", "pair", compute, check, PAPER,
    KeyFigure("Features needed to describe each class, imbalanced networks (the paper's Figure 9).",
              "features", per_class=lambda f: f.features_to_describe),
    constants={"member_k": (MEMBER_K, "an image's top-K features"),
               "top_n": (TOP_N, "a class's most frequent top-K features (Fig. 8)"),
               "above": (f"{100 * ABOVE:g}%", "Fig. 8: features present in more than this share of a class")})
