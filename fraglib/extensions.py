"""The extensions' figures: EOS three-phase training, Minority Collapse, Procrustean training.

Arrays in, figures out, as in `figures.py`: each function reads a `Record` of its study's runs
(a pair for EOS; the ladder of ratios for Minority Collapse; the four Procrustean runs) and
returns a frozen dataclass of figures, which the claims in `claims.py` read.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import eos
from . import measures as M
from .bootstrap import RESAMPLES, Resample, matched_means
from .figures import Analysis, Array, Figures, Record, _arr, majority_minority


# -- EOS -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EOS(Figures):
    """The EOS extension: the generalization gap in fe, and three-phase training (test BAC, %)."""

    gap_majority: float | None = None     # |mean train fe - mean test fe| of the majority (imbalanced)
    gap_minority: float | None = None
    gap_majority_matched: float | None = None  # ... its train mean over n_min drawn images (mean over draws)
    n_matched: int | None = None          # the minority's training images: the control's size
    e2e_bac: float | None = None          # phase 1 alone: the end-to-end imbalanced model
    eos_bac: float | None = None          # phases 2-3 with EOS
    best_other_bac: float | None = None   # the best of ROS, SMOTE and cRT
    eos_authors_bac: float | None = None  # EOS with the authors' code's neighbourhood (any class, itself)
    gap: Array = _arr()                   # (C,) imbalanced run
    bal_gap: Array = _arr()
    spread_train: Array = _arr()
    spread_test: Array = _arr()
    samplers: tuple = ()                  # rows of eos.compare: sampler, bac, class_acc, n_train, seconds


def _compare(emb, seed: int, k_enemies: int, samplers, neighbourhood: str) -> list[dict]:
    return eos.compare(emb.fe_train, emb.y_train, emb.fe_test, emb.y_test, emb.num_classes, samplers=samplers,
                       seed=seed, k=k_enemies, neighbourhood=neighbourhood)


# Phases 2-3 for every sampler on the imbalanced run's training fe, with each sampler's test
# predictions (for the bootstrap); then EOS again with the neighbourhood of the authors' code.
EOS_ROWS = Analysis("eos", "imbalanced",
                    lambda emb, seed, k_enemies=10, **_: _compare(emb, seed, k_enemies, eos.SAMPLERS, "enemies"),
                    lambda k_enemies=10, **_: {"k_enemies": k_enemies, "samplers": list(eos.SAMPLERS),
                                               "rows": "bac+pred"})
EOS_AUTHORS = Analysis("eos-authors", "imbalanced",
                       lambda emb, seed, k_enemies=10, **_: _compare(emb, seed, k_enemies, ("eos",), "authors"),
                       lambda k_enemies=10, **_: {"k": k_enemies, "neighbourhood": "authors"})


def eos_figures(rec: Record) -> EOS:
    eb, ei = rec.pair()
    rs = rec.resamples
    maj, mnr = majority_minority(ei.num_classes)
    gi = eos.generalization_gap(ei.fe_train, ei.y_train, ei.fe_test, ei.y_test, ei.num_classes)
    gb = eos.generalization_gap(eb.fe_train, eb.y_train, eb.fe_test, eb.y_test, eb.num_classes)
    rows = rec.analyses["eos"] + [dict(rec.analyses["eos-authors"][0], sampler="eos-authors")]
    bac = {r["sampler"]: 100 * r["bac"] for r in rows}
    others = ("ros", "smote", "crt")
    gap_rs = np.linalg.norm(rs.train_imb.means(ei.fe_train, key="fe") - rs.test_imb.means(ei.fe_test, key="fe_imb"),
                            axis=2)
    bac_rs = {r["sampler"]: rs.test_imb.bac(np.asarray(r["pred"]) == ei.y_test) for r in rows}
    # the size-matched control: a mean over 9 images lies further from any other mean than one
    # over 900, so the majority's training mean is drawn at the minority's size
    n_min = int((ei.y_train == mnr).sum())
    mu_test = M.class_means(ei.fe_test, ei.y_test, ei.num_classes)
    drawn = matched_means(ei.fe_train, ei.y_train, [n_min if c == maj else 0 for c in range(ei.num_classes)],
                          rs.B, rec.seed)[:, maj]
    gap_matched = np.linalg.norm(drawn - mu_test[maj], axis=1)
    boot = {"gap": gap_rs, "gap_majority": gap_rs[:, maj], "gap_minority": gap_rs[:, mnr],
            "gap_majority_matched": gap_matched,
            "e2e_bac": rs.test_imb.bac(ei.pred_test == ei.y_test), "eos_bac": bac_rs["eos"],
            "best_other_bac": np.max([bac_rs[s] for s in others], axis=0), "eos_authors_bac": bac_rs["eos-authors"]}
    return EOS(gap_majority=float(gi["mean_gap"][maj]), gap_minority=float(gi["mean_gap"][mnr]),
               gap_majority_matched=float(gap_matched.mean()), n_matched=n_min,
               e2e_bac=100 * rec.metrics["imbalanced"]["test_bac"], eos_bac=bac["eos"],
               best_other_bac=max(bac[s] for s in others), eos_authors_bac=bac["eos-authors"], gap=gi["mean_gap"],
               bal_gap=gb["mean_gap"], spread_train=gi["spread_train"], spread_test=gi["spread_test"],
               samplers=tuple(rows), boot=boot)


# -- Minority Collapse -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Collapse(Figures):
    """Minority Collapse (Fang et al.): as imbalance grows, the minority classes' classifier rows
    (and class-mean fe) turn towards each other. Minority = the last C//2 classes of the
    imbalance order, majority = the first C//2; cross-entropy runs at each ratio (1 = the
    balanced reference). Cosines of trained weights: exact for each run (no bootstrap)."""

    ratio_max: float | None = None
    w_minority_bal: float | None = None   # mean pairwise cosine of the minority's W rows, balanced run
    w_minority_max: float | None = None   # ... at the largest ratio
    w_excess_bal: float | None = None     # minority's mean cosine minus the majority's, balanced run
    w_excess_max: float | None = None
    fe_minority_bal: float | None = None  # the same for the class-mean fe
    fe_minority_max: float | None = None
    fe_excess_bal: float | None = None
    fe_excess_max: float | None = None
    ratios: tuple = ()
    w_minority: Array = _arr()            # (len(ratios),) one value per ratio
    w_majority: Array = _arr()
    fe_minority: Array = _arr()
    fe_majority: Array = _arr()


def collapse_figures(rec: Record) -> Collapse:
    by_ratio = sorted(rec.embeddings, key=lambda name: rec.configs[name].imbalance_ratio)
    ratios = tuple(rec.configs[name].imbalance_ratio for name in by_ratio)
    C = rec.embeddings[by_ratio[0]].num_classes
    major, minor = M.halves(C)
    out = {k: [] for k in ("w_minority", "w_majority", "fe_minority", "fe_majority")}
    for name in by_ratio:
        e = rec.embeddings[name]
        w = M.minority_collapse(e.weight, minor, major)
        f = M.minority_collapse(M.class_means(e.fe_train, e.y_train, C), minor, major)
        out["w_minority"].append(w["minority"]), out["w_majority"].append(w["majority"])
        out["fe_minority"].append(f["minority"]), out["fe_majority"].append(f["majority"])
    a = {k: np.array(v) for k, v in out.items()}
    return Collapse(ratio_max=ratios[-1], ratios=ratios,
                    w_minority_bal=float(a["w_minority"][0]), w_minority_max=float(a["w_minority"][-1]),
                    w_excess_bal=float(a["w_minority"][0] - a["w_majority"][0]),
                    w_excess_max=float(a["w_minority"][-1] - a["w_majority"][-1]),
                    fe_minority_bal=float(a["fe_minority"][0]), fe_minority_max=float(a["fe_minority"][-1]),
                    fe_excess_bal=float(a["fe_minority"][0] - a["fe_majority"][0]),
                    fe_excess_max=float(a["fe_minority"][-1] - a["fe_majority"][-1]), **a)


# -- Procrustean training (our interpretation of Ye, Zhan and Chao's abstract) ----------------------
@dataclass(frozen=True)
class Procrustean(Figures):
    """Plain cross-entropy against Procrustean training (procrustean.py), under exponential and
    step imbalance. Early = the first quarter of the epochs; minor classes = the last C//2 of the
    imbalance order, major = the first C//2. History figures are exact for each run; test BAC
    carries its bootstrap interval (the four runs share the test set: paired)."""

    ce_major_share_early: float | None = None   # CE (exp): % of minor-class images predicted major
    pt_major_share_early: float | None = None   # Procrustean (exp), %
    ce_grad_ratio_early: float | None = None    # CE (exp): minor / major mean |dL/dfe|, early epochs
    pt_grad_ratio_early: float | None = None
    ce_acc_spread_early: float | None = None    # CE (exp): spread (std) of per-class train accuracy, early
    pt_acc_spread_early: float | None = None
    ce_bac_exp: float | None = None             # test BAC (%)
    pt_bac_exp: float | None = None
    ce_bac_step: float | None = None
    pt_bac_step: float | None = None
    gain_exp: float | None = None               # Procrustean minus CE, points of BAC
    gain_step: float | None = None
    site: str = ""
    early_epochs: int | None = None
    curves: dict = field(default_factory=dict, repr=False, compare=False)  # name -> per-epoch arrays


def procrustean_resamples(embeddings: dict, B: int = RESAMPLES, seed: int = 0) -> Resample:
    """The four runs share the test set: one resample of it (paired)."""
    e = embeddings["ce_exp"]
    return Resample(e.y_test, e.num_classes, B, seed)


def procrustean_figures(rec: Record) -> Procrustean:
    hist = {name: m["history"] for name, m in rec.metrics.items()}
    E = len(hist["ce_exp"])
    early = max(1, E // 4)
    C = len(hist["ce_exp"][0]["major_share"])
    major, minor = M.halves(C)

    def series(name, key):
        return np.array([h[key] for h in hist[name]])   # (epochs, C)

    def early_mean(name, key, cls):
        return float(series(name, key)[:early, cls].mean())

    def grad_ratio(name):
        return early_mean(name, "fe_grad_norm", minor) / early_mean(name, "fe_grad_norm", major)

    def spread(name):
        return float(series(name, "train_class_acc_augmented")[:early].std(axis=1).mean())

    y = rec.embeddings["ce_exp"].y_test
    rs = rec.resamples
    bac_rs = {name: rs.bac(em.pred_test == y) for name, em in rec.embeddings.items()}
    bac = {name: 100 * m["test_bac"] for name, m in rec.metrics.items()}
    boot = {"ce_bac_exp": bac_rs["ce_exp"], "pt_bac_exp": bac_rs["pt_exp"], "ce_bac_step": bac_rs["ce_step"],
            "pt_bac_step": bac_rs["pt_step"], "gain_exp": bac_rs["pt_exp"] - bac_rs["ce_exp"],
            "gain_step": bac_rs["pt_step"] - bac_rs["ce_step"]}
    curves = {f"{name}:{key}": series(name, key) for name in rec.metrics
              for key in ("major_share", "fe_grad_norm", "train_class_acc_augmented")}
    return Procrustean(
        ce_major_share_early=100 * early_mean("ce_exp", "major_share", minor),
        pt_major_share_early=100 * early_mean("pt_exp", "major_share", minor),
        ce_grad_ratio_early=grad_ratio("ce_exp"), pt_grad_ratio_early=grad_ratio("pt_exp"),
        ce_acc_spread_early=spread("ce_exp"), pt_acc_spread_early=spread("pt_exp"),
        ce_bac_exp=bac["ce_exp"], pt_bac_exp=bac["pt_exp"], ce_bac_step=bac["ce_step"], pt_bac_step=bac["pt_step"],
        gain_exp=bac["pt_exp"] - bac["ce_exp"], gain_step=bac["pt_step"] - bac["ce_step"],
        site=rec.configs["pt_exp"].procrustean, early_epochs=early, curves=curves, boot=boot)
