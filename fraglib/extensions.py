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
    eos_fresh_bac: float | None = None    # EOS with a fresh head in phase 3 instead of the fine-tuned one
    gap: Array = _arr()                   # (C,) imbalanced run
    bal_gap: Array = _arr()
    spread_train: Array = _arr()
    spread_test: Array = _arr()
    samplers: tuple = ()                  # rows of eos.compare: sampler, bac, class_acc, n_train, seconds


def _compare(emb, seed: int, k_enemies: int, samplers, neighbourhood: str, finetune: bool = True) -> list[dict]:
    """Phases 2-3 on a run's embeddings, in the head's effective operands (a cosine head's s·fe/|fe|
    and W/|W|; for a linear head, fe and W): phase 3 fine-tunes the phase-1 head (`finetune`) or
    fits a fresh one."""
    init = (emb.weight_eff, emb.bias) if finetune else None
    return eos.compare(emb.fe_eff_train, emb.y_train, emb.fe_eff_test, emb.y_test, emb.num_classes,
                       samplers=samplers, seed=seed, k=k_enemies, neighbourhood=neighbourhood, init=init)


# Phases 2-3 for every sampler on the imbalanced run's training fe (phase 3 fine-tunes the phase-1
# head), with each sampler's test predictions (for the bootstrap); then EOS with the neighbourhood
# of the authors' code, and EOS with a fresh head (the book's earlier phase 3), beside it.
EOS_ROWS = Analysis("eos", "imbalanced",
                    lambda emb, seed, k_enemies=10, **_: _compare(emb, seed, k_enemies, eos.SAMPLERS, "enemies"),
                    lambda k_enemies=10, **_: {"k_enemies": k_enemies, "samplers": list(eos.SAMPLERS),
                                               "rows": "bac+pred", "phase3": "finetune", "operands": "effective"})
EOS_AUTHORS = Analysis("eos-authors", "imbalanced",
                       lambda emb, seed, k_enemies=10, **_: _compare(emb, seed, k_enemies, ("eos",), "authors"),
                       lambda k_enemies=10, **_: {"k": k_enemies, "neighbourhood": "authors", "phase3": "finetune",
                                                  "operands": "effective"})
EOS_FRESH = Analysis("eos-fresh", "imbalanced",
                     lambda emb, seed, k_enemies=10, **_: _compare(emb, seed, k_enemies, ("eos",), "enemies", False),
                     lambda k_enemies=10, **_: {"k": k_enemies, "phase3": "fresh head", "operands": "effective"})


def eos_figures(rec: Record) -> EOS:
    eb, ei = rec.pair()
    rs = rec.resamples
    maj, mnr = majority_minority(ei.num_classes)
    gi = eos.generalization_gap(ei.fe_train, ei.y_train, ei.fe_test, ei.y_test, ei.num_classes)
    gb = eos.generalization_gap(eb.fe_train, eb.y_train, eb.fe_test, eb.y_test, eb.num_classes)
    rows = rec.analyses["eos"] + [dict(rec.analyses["eos-authors"][0], sampler="eos-authors"),
                                  dict(rec.analyses["eos-fresh"][0], sampler="eos, fresh head")]
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
            "best_other_bac": np.max([bac_rs[s] for s in others], axis=0), "eos_authors_bac": bac_rs["eos-authors"],
            "eos_fresh_bac": bac_rs["eos, fresh head"]}
    return EOS(gap_majority=float(gi["mean_gap"][maj]), gap_minority=float(gi["mean_gap"][mnr]),
               gap_majority_matched=float(gap_matched.mean()), n_matched=n_min,
               e2e_bac=100 * rec.metrics["imbalanced"]["test_bac"], eos_bac=bac["eos"],
               best_other_bac=max(bac[s] for s in others), eos_authors_bac=bac["eos-authors"],
               eos_fresh_bac=bac["eos, fresh head"], gap=gi["mean_gap"],
               bal_gap=gb["mean_gap"], spread_train=gi["spread_train"], spread_test=gi["spread_test"],
               samplers=tuple(rows), boot=boot)


# -- Minority Collapse -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Collapse(Figures):
    """Minority Collapse (Fang et al.'s Layer-Peeled Model): under step imbalance (the first C/2
    classes keep n_max images, the last C/2 keep n_max / R), as R grows the minority classes'
    classifier rows turn towards each other. One cross-entropy run per rung of the ladder of
    ratios (R = 1: the balanced reference). W is the head's raw weight (LPM's measure), shown raw
    and centred by its mean row; class-mean fe are centred by the global mean of the run's
    training fe (uncentred, their cosines measure the positive orthant all post-ReLU means share).
    Cosines of trained weights and of class means: one network per rung, no resampling."""

    ratio_max: int | None = None
    rungs: int | None = None                    # runs on the ladder, ratio 1 included
    w_minority_rise: float | None = None        # centred W: minority's mean pairwise cosine, last rung - first
    w_majority_rise: float | None = None
    w_raw_minority_rise: float | None = None    # raw W (LPM's measure)
    w_raw_majority_rise: float | None = None
    fe_minority_rise: float | None = None       # class-mean fe centred by the global training mean
    fe_majority_rise: float | None = None
    fe_raw_minority_rise: float | None = None   # uncentred class-mean fe (the shared component)
    fe_raw_majority_rise: float | None = None
    ratios: tuple = ()
    ladder: dict = field(default_factory=dict, repr=False, compare=False)   # "w:minority" -> (rungs,)


LADDER_SERIES = {"w": "W rows, centred", "w_raw": "W rows, raw (LPM)", "fe": "class-mean fe, centred",
                 "fe_raw": "class-mean fe, raw"}


def collapse_figures(rec: Record) -> Collapse:
    by_ratio = sorted(rec.embeddings, key=lambda name: rec.configs[name].imbalance_ratio)
    ratios = tuple(rec.configs[name].imbalance_ratio for name in by_ratio)
    C = rec.embeddings[by_ratio[0]].num_classes
    major, minor = M.halves(C)
    ladder = {f"{series}:{group}": [] for series in LADDER_SERIES for group in ("minority", "majority", "between")}
    for name in by_ratio:
        e = rec.embeddings[name]
        means = M.class_means(e.fe_train, e.y_train, C)
        for series, matrix, centre in (("w", e.weight, e.weight.mean(0)), ("w_raw", e.weight, None),
                                       ("fe", means, np.asarray(e.fe_train, np.float64).mean(0)),
                                       ("fe_raw", means, None)):
            for group, value in M.minority_collapse(matrix, minor, major, centre).items():
                if group != "excess":
                    ladder[f"{series}:{group}"].append(value)
    ladder = {k: np.array(v) for k, v in ladder.items()}

    def rise(key):
        return float(ladder[key][-1] - ladder[key][0])
    return Collapse(ratio_max=int(ratios[-1]), rungs=len(ratios), ratios=ratios, ladder=ladder,
                    **{f"{series}_{group}_rise": rise(f"{series}:{group}") for series in LADDER_SERIES
                       for group in ("minority", "majority")})


# -- Procrustean training (our interpretation of Ye, Zhan and Chao's abstract) ----------------------
@dataclass(frozen=True)
class Procrustean(Figures):
    """Plain cross-entropy against Procrustean training (procrustean.py), under exponential and
    step imbalance. Early = the first quarter of the epochs; minor classes = the last C//2 of the
    imbalance order, major = the first C//2. The balance figures are read on the *clean* training
    images (no mixing, eval mode), every epoch: on the mixed batches the network trains on, the
    major classes' accuracy falls by construction (their images are diluted), so a spread measured
    there shrinks whether or not the minor classes are fitted earlier; those figures are kept,
    labelled `mixed_`. History figures are one network's each; test BAC carries its bootstrap
    interval (the four runs share the test set: paired)."""

    ce_major_share_early: float | None = None   # CE (exp), clean images: % of minor-class images predicted major
    pt_major_share_early: float | None = None   # Procrustean (exp), %
    ce_grad_ratio_early: float | None = None    # CE (exp), clean: minor / major mean |dL/dfe|, early epochs
    pt_grad_ratio_early: float | None = None
    ce_acc_spread_early: float | None = None    # CE (exp), clean: spread (std) of per-class train accuracy, early
    pt_acc_spread_early: float | None = None
    mixed_ce_acc_spread_early: float | None = None   # the same on the training batches (mixed for Procrustean)
    mixed_pt_acc_spread_early: float | None = None
    mixed_ce_grad_ratio_early: float | None = None
    mixed_pt_grad_ratio_early: float | None = None
    ce_bac_exp: float | None = None             # test BAC (%)
    pt_bac_exp: float | None = None
    ce_bac_step: float | None = None
    pt_bac_step: float | None = None
    gain_exp: float | None = None               # Procrustean minus CE, points of BAC
    gain_step: float | None = None
    site: str = ""
    early_epochs: int | None = None
    curves: dict = field(default_factory=dict, repr=False, compare=False)  # "run:key" -> (epochs, C)


CLEAN_KEYS = {"clean_class_acc": "train_class_acc_augmented", "clean_major_share": "major_share",
              "clean_fe_grad_norm": "fe_grad_norm"}   # clean-image figure -> its training-batch twin


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
    keys = [*CLEAN_KEYS, *CLEAN_KEYS.values()]
    curves = {f"{name}:{key}": np.array([h[key] for h in hist[name]]) for name in hist for key in keys
              if key in hist[name][0]}   # the clean-image history: the exponential pair's

    def early_mean(name, key, cls):
        return float(curves[f"{name}:{key}"][:early, cls].mean())

    def grad_ratio(name, key):
        return early_mean(name, key, minor) / early_mean(name, key, major)

    def spread(name, key):
        return float(curves[f"{name}:{key}"][:early].std(axis=1).mean())

    y = rec.embeddings["ce_exp"].y_test
    rs = rec.resamples
    bac_rs = {name: rs.bac(em.pred_test == y) for name, em in rec.embeddings.items()}
    bac = {name: 100 * m["test_bac"] for name, m in rec.metrics.items()}
    boot = {"ce_bac_exp": bac_rs["ce_exp"], "pt_bac_exp": bac_rs["pt_exp"], "ce_bac_step": bac_rs["ce_step"],
            "pt_bac_step": bac_rs["pt_step"], "gain_exp": bac_rs["pt_exp"] - bac_rs["ce_exp"],
            "gain_step": bac_rs["pt_step"] - bac_rs["ce_step"]}
    return Procrustean(
        ce_major_share_early=100 * early_mean("ce_exp", "clean_major_share", minor),
        pt_major_share_early=100 * early_mean("pt_exp", "clean_major_share", minor),
        ce_grad_ratio_early=grad_ratio("ce_exp", "clean_fe_grad_norm"),
        pt_grad_ratio_early=grad_ratio("pt_exp", "clean_fe_grad_norm"),
        ce_acc_spread_early=spread("ce_exp", "clean_class_acc"), pt_acc_spread_early=spread("pt_exp", "clean_class_acc"),
        mixed_ce_acc_spread_early=spread("ce_exp", "train_class_acc_augmented"),
        mixed_pt_acc_spread_early=spread("pt_exp", "train_class_acc_augmented"),
        mixed_ce_grad_ratio_early=grad_ratio("ce_exp", "fe_grad_norm"),
        mixed_pt_grad_ratio_early=grad_ratio("pt_exp", "fe_grad_norm"),
        ce_bac_exp=bac["ce_exp"], pt_bac_exp=bac["pt_exp"], ce_bac_step=bac["ce_step"], pt_bac_step=bac["pt_step"],
        gain_exp=bac["pt_exp"] - bac["ce_exp"], gain_step=bac["pt_step"] - bac["ce_step"],
        site=rec.configs["pt_exp"].procrustean, early_epochs=early, curves=curves, boot=boot)
