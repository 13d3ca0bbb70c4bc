"""RQ3 · Top-K features (paper Fig. 3): how many of the largest ce decide a prediction?
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import measures as M
from ..claims import Claim, claim, ours_vs, pv, with_interval
from ..figures import Array, Figures, KeyFigure, Question, Record, arr, majority_minority

COVERAGE_KS = M.COVERAGE_KS   # K of paper Fig. 3
COVERAGE_LEVEL = 0.94         # "K features account for over 94% of training predictions" (Fig. 3)
BALANCED_LEVEL = 0.97         # ... and the balanced network's "over 97%" at K = 7
K_OF_64 = 7                   # "K = 7 ... (i.e., 7 out of 64)"


@dataclass(frozen=True)
class RQ3(Figures):
    """Fig. 3: how many of the largest ce decide a prediction (top-K coverage, training set)."""

    k94: int | None = None             # smallest K covering >= 94% of training predictions (imbalanced)
    bal_k94: int | None = None         # the same, balanced run
    H: int | None = None               # fe dimension
    c2_majority: float | None = None   # class top-2 coverage (%) of the majority, imbalanced run
    c2_minority: float | None = None   # ... of the minority
    c7_min: float | None = None        # the lowest class top-7 coverage (%) of any class, imbalanced run
    bal_c7_min: float | None = None    # the same, balanced run
    n_minority_train: int | None = None  # the minority's training images (every figure here is their census)
    coverage_ks: tuple = COVERAGE_KS
    class_coverage: Array = arr()     # (C, len(ks)) imbalanced run
    bal_class_coverage: Array = arr()
    coverage_all: Array = arr()       # (H + 1,): coverage for K = 1 .. H + 1, imbalanced run
    bal_coverage_all: Array = arr()


def k_for_coverage(coverage_all, level: float = COVERAGE_LEVEL):
    """Smallest K whose top-K coverage reaches `level` (coverage_all[..., K-1] is K's coverage);
    vectorised over leading axes (resamples)."""
    c = np.asarray(coverage_all)
    hit = c >= level
    k = np.where(hit.any(-1), hit.argmax(-1) + 1, c.shape[-1])
    return int(k) if k.ndim == 0 else k


TOP_K = {"runner-up": M.instance_top_k, "all others": M.instance_top_k_all}   # the multiverse's `top_k`


_KSTAR: dict = {}   # (id of the embeddings, top-K reading) -> (the embeddings, K*): the multiverse reads it per K and level


def _kstar(emb, top_k: str):
    """K* of every training image (cached for the embeddings object: the specifications of one
    study differ in K and the level, not in K*)."""
    key = (id(emb), top_k)
    if key not in _KSTAR or _KSTAR[key][0] is not emb:
        if len(_KSTAR) >= 16:
            _KSTAR.clear()
        _KSTAR[key] = (emb, TOP_K[top_k](emb.fe_eff_train, emb.weight_eff, emb.bias))
    return _KSTAR[key][1]


def _coverage(emb, top_k: str, k_max: int):
    """(C, k_max) class coverage for K = 1 .. k_max, and the coverage of all predictions for K = 1 .. H + 1."""
    kstar = _kstar(emb, top_k)
    H = emb.weight_eff.shape[1]
    return (M.class_top_k_coverage(kstar, emb.y_train, range(1, k_max + 1), emb.num_classes),
            M.top_k_coverage(kstar, range(1, H + 2)))


def compute(rec: Record, top_k: str = "runner-up", k_of_64: int = K_OF_64, coverage: float = COVERAGE_LEVEL) -> RQ3:
    """Top-K coverage of the network's own training predictions is a census of that network, not
    a sample of anything: no resamples (its claims read "one network"; seeds vary it). A class of
    9 images covered 100% is 9 of 9 of that network's images, and the claims say how few. The
    analysis choices (multiverse.py): the top-K reading, the K (of 64) and the coverage level."""
    eb, ei = rec.pair()
    H = ei.weight_eff.shape[1]
    k = max(1, round(k_of_64 * H / 64))
    k_max = max(k, *COVERAGE_KS)
    cls_b, all_b = _coverage(eb, top_k, k_max)
    cls_i, all_i = _coverage(ei, top_k, k_max)
    maj, mnr = majority_minority(ei.num_classes)
    return RQ3(k94=k_for_coverage(all_i, coverage), bal_k94=k_for_coverage(all_b, coverage), H=H,
               c2_majority=100 * float(cls_i[maj, 1]), c2_minority=100 * float(cls_i[mnr, 1]),
               c7_min=100 * float(np.nanmin(cls_i[:, k - 1])), bal_c7_min=100 * float(np.nanmin(cls_b[:, k - 1])),
               n_minority_train=int((ei.y_train == mnr).sum()),
               class_coverage=cls_i[:, [K - 1 for K in COVERAGE_KS]],
               bal_class_coverage=cls_b[:, [K - 1 for K in COVERAGE_KS]], coverage_all=all_i, bal_coverage_all=all_b)


def _k_size(f):                  # the paper's K = 7 of H = 64 (or the chosen K), at this network's H
    return max(1, round(f.chosen("k_of_64") * f.H / 64))


def check(o: RQ3, p: RQ3) -> list[Claim]:
    size = f"K ≤ {_k_size(o)} of H = {o.H}"
    level, bal_level = 100 * o.chosen("coverage"), 100 * BALANCED_LEVEL
    k64 = o.chosen("k_of_64")
    sized = ("top_k", "k_of_64", "coverage")
    return [
        claim("RQ3", f"A few top-K ce decide >= {level:g}% of the imbalanced network's training predictions "
                     f"({size}: the paper's {k64} of 64)", f"K = {pv(p, 'k94', 'd')}", f"K = {with_interval(o, 'k94', '.0f')}",
              o, lambda f: f.k94 <= f.H // 4, lambda f: f.k94 <= _k_size(o), choices=sized),
        claim("RQ3", f"... and of the balanced network's ({size})", f"K = {pv(p, 'bal_k94', 'd')}",
              f"K = {with_interval(o, 'bal_k94', '.0f')}", o,
              lambda f: f.bal_k94 <= f.H // 4, lambda f: f.bal_k94 <= _k_size(o), choices=sized),
        claim("RQ3", f"At K = {_k_size(o)}, every class's training predictions are covered >= {level:g}% (imbalanced; "
                     f"the lowest class shown)", f"over {level:g}%", f"{with_interval(o, 'c7_min', '.1f')}%", o,
              lambda f: f.c7_min >= level, choices=sized),
        claim("RQ3", f"... and >= {bal_level:g}% in the balanced network", f"over {bal_level:g}%",
              f"{with_interval(o, 'bal_c7_min', '.1f')}%", o, lambda f: f.bal_c7_min >= bal_level,
              choices=("top_k", "k_of_64")),
        claim("RQ3", "Minority classes need fewer features: class top-2 coverage (%) is higher for the "
                     "minority than the majority", f"{pv(p, 'c2_minority', '.0f')} vs {pv(p, 'c2_majority', '.0f')}",
              ours_vs(o, "c2_minority", "c2_majority", ".0f") + f" (a census: the minority's {o.n_minority_train} "
                                                                 f"training images)",
              o, lambda f: f.c2_minority > f.c2_majority, choices=("top_k",)),
    ]


PAPER = {
    # Fig. 3: "for K = 2 ... majority classes ... 60% of the time; ... minority classes ... over 90%"
    ("cifar10", "ce"): RQ3(k94=7, bal_k94=7, H=64, c2_majority=60.0, c2_minority=90.0,
                           notes={"c2_majority": "the majority classes, not class 0", "c2_minority": "the minority classes, not class 9"}),
    ("cifar10", "focal"): RQ3(k94=11, H=64, notes={"k94": "K for over 90%, not 94%"}),
    ("cifar10", "ldam-drw"): RQ3(k94=2, H=64),
    ("svhn", "ce"): RQ3(k94=3, H=64),
    ("celeba", "ce"): RQ3(k94=2, H=64),
}

QUESTION = Question(
    "RQ3", 3, "rq3_top_k", "RQ3 · Top-K features", "pair", compute, check, PAPER,
    KeyFigure("Class top-2 coverage of the imbalanced networks' training predictions (the paper's Figure 3).",
              "top-2 coverage", per_class=lambda f: np.asarray(f.class_coverage)[:, list(f.coverage_ks).index(2)]),
    choices=("top_k", "k_of_64", "coverage"),
    constants={"coverage_level": (f"{100 * COVERAGE_LEVEL:g}%", "share of training predictions a few top-K ce decide"),
               "balanced_level": (f"{100 * BALANCED_LEVEL:g}%", "the same, every class of the balanced network"),
               "coverage_ks": (", ".join(map(str, COVERAGE_KS)), "K of the class coverage (Fig. 3)"),
               "k_of_64": (K_OF_64, "the paper's K (of H = 64), scaled to the network's H")})
