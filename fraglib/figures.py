"""The paper's figures: one frozen dataclass and one function per research question.

`rq3(study)` reads the embeddings and metrics of a study's two runs (the balanced reference and
the imbalanced run), calls the measures of `measures.py`, and returns an `RQ3` whose fields are
the figures RQ3 reports. The paper's own numbers (`paper.PAPER`) are instances of the same
classes, under the same field names, with None where the paper reports nothing; the claims in
`claims.py` compare the two field by field. Accuracies are in percent, as the paper prints them;
per-class arrays are indexed by class (0 = majority, C - 1 = minority, by the imbalance order,
for both runs of a study: DESIGN.md).

Figures are cheap to compute (well under a second for a quick run) except RQ1's re-trained head
and the EOS sampler comparison, which are computed once per run into its `derived/` folder.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields

import numpy as np

from . import measures as M
from .heads import HeadRegime, fit_linear_head, head_bac

Array = np.ndarray
COVERAGE_KS = M.COVERAGE_KS   # K of paper Fig. 3
MEMBER_K = M.MEMBER_K         # instance top-K set size (the paper settles on 7)
TOP_N = M.TOP_N               # "the ten largest / most frequent"
COVERAGE_LEVEL = 0.94         # "K features account for over 94% of training predictions" (Fig. 3)


def _arr(default=None):
    return field(default=default, repr=False, compare=False)


def majority_minority(num_classes: int) -> tuple[int, int]:
    """Majority and minority by the imbalance order: class 0 keeps the most training images and
    class C - 1 the fewest, under exponential and step imbalance; a balanced run uses the same
    indices as its imbalanced twin (argmin of equal counts would name class 0 twice)."""
    return 0, num_classes - 1


class Figures:
    """Shared behaviour of the per-RQ dataclasses."""

    def scalars(self) -> dict:
        """The scalar figures (the ones the paper can report), by field name."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.compare and isinstance(getattr(self, f.name), (int, float, np.number, type(None)))}

    def to_dict(self) -> dict:
        return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in asdict(self).items()}


# -- RQ1 -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RQ1(Figures):
    """Table 1: test BAC (%) of three models."""

    bal_bac: float | None = None       # trained on balanced data (the cross-entropy reference)
    imb_bac: float | None = None       # trained on imbalanced data
    retrain_bac: float | None = None   # imbalanced extractor, head re-trained on the balanced set's fe


def retrained_bac(run, regime: HeadRegime = HeadRegime()) -> float:
    """RQ1's classifier re-training: a fresh linear head on the frozen extractor's fe of the full
    balanced training set, scored on the test set (cached in the run's derived/retrain.json)."""
    def compute():
        emb = run.embeddings()
        W, b = fit_linear_head(emb.fe_full, emb.y_full, emb.num_classes, seed=run.config.seed, regime=regime)
        return head_bac(W, b, emb.fe_test, emb.y_test, emb.num_classes)
    return run.derived("retrain", {"head_regime": asdict(regime)}, compute)


def rq1(study) -> RQ1:
    return RQ1(bal_bac=100 * study.balanced.metrics["test_bac"],
               imb_bac=100 * study.imbalanced.metrics["test_bac"],
               retrain_bac=100 * retrained_bac(study.imbalanced))


# -- RQ2 -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RQ2(Figures):
    """Fig. 2 and Table 2: clean training and test accuracy (%) per class."""

    maj_train: float | None = None     # imbalanced run, majority class, training accuracy
    maj_test: float | None = None
    min_train: float | None = None     # imbalanced run, minority class
    min_test: float | None = None
    train_class_acc: Array = _arr()    # (C,) imbalanced run
    test_class_acc: Array = _arr()
    bal_train_class_acc: Array = _arr()  # (C,) balanced run
    bal_test_class_acc: Array = _arr()
    train_counts: Array = _arr()       # (C,) imbalanced run's training images per class


def rq2(study) -> RQ2:
    b, i = study.balanced.metrics, study.imbalanced.metrics
    tr, te = 100 * np.asarray(i["train_class_acc"]), 100 * np.asarray(i["test_class_acc"])
    maj, mnr = majority_minority(len(tr))
    return RQ2(maj_train=float(tr[maj]), maj_test=float(te[maj]), min_train=float(tr[mnr]),
               min_test=float(te[mnr]), train_class_acc=tr, test_class_acc=te,
               bal_train_class_acc=100 * np.asarray(b["train_class_acc"]),
               bal_test_class_acc=100 * np.asarray(b["test_class_acc"]),
               train_counts=np.asarray(i["train_counts"]))


# -- RQ3 -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RQ3(Figures):
    """Fig. 3: how many of the largest ce decide a prediction (top-K coverage, training set)."""

    k94: int | None = None             # smallest K covering >= 94% of training predictions (imbalanced)
    k94_bal: int | None = None         # the same, balanced run
    H: int | None = None               # fe dimension
    c2_majority: float | None = None   # class top-2 coverage (%) of the majority, imbalanced run
    c2_minority: float | None = None   # ... of the minority
    coverage_ks: tuple = COVERAGE_KS
    class_coverage: Array = _arr()     # (C, len(ks)) imbalanced run
    bal_class_coverage: Array = _arr()
    coverage_all: Array = _arr()       # (H + 1,): coverage for K = 1 .. H + 1, imbalanced run
    bal_coverage_all: Array = _arr()


def k_for_coverage(coverage_all, level: float = COVERAGE_LEVEL) -> int:
    """Smallest K whose top-K coverage reaches `level` (coverage_all[K-1] is K's coverage)."""
    hits = np.flatnonzero(np.asarray(coverage_all) >= level)
    return int(hits[0]) + 1 if len(hits) else len(coverage_all)


def _coverage(emb):
    kstar = M.instance_top_k(emb.fe_eff_train, emb.weight_eff, emb.bias)
    H = emb.weight_eff.shape[1]
    return (M.class_top_k_coverage(kstar, emb.y_train, COVERAGE_KS, emb.num_classes),
            M.top_k_coverage(kstar, range(1, H + 2)))


def rq3(study) -> RQ3:
    eb, ei = study.embeddings()
    cls_b, all_b = _coverage(eb)
    cls_i, all_i = _coverage(ei)
    maj, mnr = majority_minority(ei.num_classes)
    j = COVERAGE_KS.index(2)
    return RQ3(k94=k_for_coverage(all_i), k94_bal=k_for_coverage(all_b), H=ei.weight_eff.shape[1],
               c2_majority=100 * float(cls_i[maj, j]), c2_minority=100 * float(cls_i[mnr, j]),
               class_coverage=cls_i, bal_class_coverage=cls_b, coverage_all=all_i, bal_coverage_all=all_b)


# -- RQ4 -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RQ4(Figures):
    """Figs. 4-6, Tables 3-4: magnitudes of the class-mean ce."""

    largest_ce_majority: float | None = None   # Table 3: the majority's largest class-mean ce
    largest_ce_others: float | None = None     # ... the mean of the other classes' largest
    largest_ce_ratio: float | None = None      # others / majority (imbalanced run)
    largest_ce_ratio_bal: float | None = None  # the same ratio in the balanced run
    top_ce_share_majority: float | None = None  # Table 4: largest ce / predicted logit, majority
    top_ce_share_others: float | None = None
    top_ce_share_ratio: float | None = None
    class_mean_ce_top: Array = _arr()          # (C, 10) imbalanced run, sorted
    bal_class_mean_ce_top: Array = _arr()
    top_ce_share: Array = _arr()               # (C, 7) imbalanced run
    bal_top_ce_share: Array = _arr()


def _ce_magnitudes(emb):
    mean_ce = M.class_mean_ce(emb.fe_eff_train, emb.weight_eff, emb.y_train, emb.num_classes)
    share = M.top_ce_share(emb.fe_eff_train, emb.weight_eff, emb.bias, emb.y_train, emb.num_classes)
    return mean_ce, share


def rq4(study) -> RQ4:
    eb, ei = study.embeddings()
    maj, _ = majority_minority(ei.num_classes)
    ce_b, share_b = _ce_magnitudes(eb)
    ce_i, share_i = _ce_magnitudes(ei)
    t3, t3b = M.largest_class_ce(ce_i, maj), M.largest_class_ce(ce_b, maj)
    t4 = M.majority_vs_others(share_i[:, 0], maj)
    return RQ4(largest_ce_majority=t3["majority"], largest_ce_others=t3["others"],
               largest_ce_ratio=t3["ratio"], largest_ce_ratio_bal=t3b["ratio"],
               top_ce_share_majority=t4["majority"], top_ce_share_others=t4["others"],
               top_ce_share_ratio=t4["ratio"],
               class_mean_ce_top=M.top_values(ce_i, TOP_N)[0], bal_class_mean_ce_top=M.top_values(ce_b, TOP_N)[0],
               top_ce_share=share_i, bal_top_ce_share=share_b)


# -- RQ5 -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RQ5(Figures):
    """Fig. 7: classifier weights. Magnitudes of the head's *raw* W, also for a cosine head (its
    normalised rows all have norm 1, which would erase what RQ5 asks about: DESIGN.md)."""

    w_sum_majority: float | None = None   # sum of the majority's ten largest |W| (imbalanced run)
    w_sum_minority: float | None = None
    w_max: float | None = None            # the largest |W|
    ce_max: float | None = None           # the largest class-mean ce (effective operands)
    weight_top: Array = _arr()            # (C, 10) imbalanced run, sorted
    bal_weight_top: Array = _arr()
    weight_top_sum: Array = _arr()        # (C,)
    bal_weight_top_sum: Array = _arr()


def rq5(study) -> RQ5:
    eb, ei = study.embeddings()
    maj, mnr = majority_minority(ei.num_classes)
    top_i, sum_i = M.weight_magnitudes(ei.weight, TOP_N)
    top_b, sum_b = M.weight_magnitudes(eb.weight, TOP_N)
    ce_i = M.class_mean_ce(ei.fe_eff_train, ei.weight_eff, ei.y_train, ei.num_classes)
    return RQ5(w_sum_majority=float(sum_i[maj]), w_sum_minority=float(sum_i[mnr]),
               w_max=float(np.abs(ei.weight).max()), ce_max=float(np.nanmax(ce_i)),
               weight_top=top_i, bal_weight_top=top_b, weight_top_sum=sum_i, bal_weight_top_sum=sum_b)


# -- RQ6 -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RQ6(Figures):
    """Figs. 8-10a: diversity of fe."""

    fd_majority: int | None = None        # Fig. 9: features needed to describe the majority (imbalanced)
    fd_minority: int | None = None
    above90_majority: int | None = None   # Fig. 8: top-K fe held by > 90% of the majority's instances
    above90_minority: int | None = None
    ratio_max_majority: float | None = None  # Fig. 8: the majority's largest top-K fe coverage ratio
    fe_members: Array = _arr()            # (C, 10) imbalanced run: the ten most frequent top-7 fe
    fe_member_ratio: Array = _arr()       # (C, 10) their coverage ratios
    features_to_describe: Array = _arr()  # (C,) imbalanced run
    bal_features_to_describe: Array = _arr()
    class_mean_fe_top: Array = _arr()     # (C, 10) imbalanced run, sorted


def _fe_counts(emb):
    return M.member_counts(M.top_k_members(emb.fe_train, MEMBER_K), emb.y_train, emb.num_classes,
                           emb.fe_train.shape[1])


def rq6(study) -> RQ6:
    eb, ei = study.embeddings()
    maj, mnr = majority_minority(ei.num_classes)
    counts_i, counts_b = _fe_counts(ei), _fe_counts(eb)
    sizes = np.bincount(ei.y_train, minlength=ei.num_classes)
    members, ratio = M.class_top_k_coverage_ratio(counts_i, sizes, TOP_N)
    above = (np.nan_to_num(ratio) > 0.9).sum(1)
    fd_i, fd_b = M.features_to_describe(counts_i), M.features_to_describe(counts_b)
    return RQ6(fd_majority=int(fd_i[maj]), fd_minority=int(fd_i[mnr]), above90_majority=int(above[maj]),
               above90_minority=int(above[mnr]), ratio_max_majority=float(np.nanmax(ratio[maj])),
               fe_members=members, fe_member_ratio=ratio, features_to_describe=fd_i,
               bal_features_to_describe=fd_b,
               class_mean_fe_top=M.top_values(M.class_means(ei.fe_train, ei.y_train, ei.num_classes), TOP_N)[0])


# -- RQ7 -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RQ7(Figures):
    """Fig. 10: class-mean fe in training vs test true and false positives (imbalanced run)."""

    frob_tp: float | None = None          # ||mu_train - mu_TP||_F over the classes kept
    frob_fp: float | None = None          # ||mu_train - mu_FP||_F
    fe_overlap_tp: float | None = None    # identity overlap of the 10 most frequent top-7 fe
    fe_overlap_fp: float | None = None
    ce_overlap_tp: float | None = None    # the same for ce of the predicted class
    ce_overlap_fp: float | None = None
    classes_left_out: int | None = None   # classes with no TP or no FP, left out of both norms
    fe_overlap_tp_by_class: Array = _arr()
    fe_overlap_fp_by_class: Array = _arr()
    mu_train_top: Array = _arr()          # (C, 10) sorted class-mean fe
    mu_tp_top: Array = _arr()
    mu_fp_top: Array = _arr()


def rq7(study) -> RQ7:
    e = study.embeddings()[1]
    C = e.num_classes
    al = M.train_test_alignment(e.fe_train, e.y_train, e.fe_test, e.y_test, e.pred_test, C, MEMBER_K, TOP_N)
    tp, fp = M.tp_fp_groups(e.y_test, e.pred_test)
    r, _ = M.reference_and_adversary(M.logits(e.fe_eff_train, e.weight_eff, e.bias))
    ce_train = M.ce_of(e.fe_eff_train, e.weight_eff, r)
    ce_counts = M.member_counts(M.top_k_members(ce_train, MEMBER_K), e.y_train, C, ce_train.shape[1])
    ce_members = M.class_top_members(ce_counts, TOP_N)[0]
    ce_test = M.ce_of(e.fe_eff_test, e.weight_eff, e.pred_test)
    ce_overlap = {name: M.identity_overlap(ce_members, *M.group_top_members(ce_test, g, C, MEMBER_K, TOP_N))
                  for name, g in (("tp", tp), ("fp", fp))}

    def mean(a):
        return float(np.nanmean(a)) if np.isfinite(a).any() else float("nan")

    def top(mu):
        return M.top_values(np.nan_to_num(mu, nan=0.0), TOP_N)[0]

    return RQ7(frob_tp=al["frobenius_tp"], frob_fp=al["frobenius_fp"], fe_overlap_tp=mean(al["overlap_tp"]),
               fe_overlap_fp=mean(al["overlap_fp"]), ce_overlap_tp=mean(ce_overlap["tp"]),
               ce_overlap_fp=mean(ce_overlap["fp"]), classes_left_out=al["classes_left_out"],
               fe_overlap_tp_by_class=al["overlap_tp"], fe_overlap_fp_by_class=al["overlap_fp"],
               mu_train_top=top(al["mu_train"]), mu_tp_top=top(al["mu_tp"]), mu_fp_top=top(al["mu_fp"]))


# -- EOS -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EOS(Figures):
    """The EOS extension: the generalization gap in fe, and three-phase training (test BAC, %)."""

    gap_majority: float | None = None     # |mean train fe - mean test fe| of the majority (imbalanced)
    gap_minority: float | None = None
    e2e_bac: float | None = None          # phase 1 alone: the end-to-end imbalanced model
    eos_bac: float | None = None          # phases 2-3 with EOS
    best_other_bac: float | None = None   # the best of ROS, SMOTE and cRT
    gap: Array = _arr()                   # (C,) imbalanced run
    bal_gap: Array = _arr()
    spread_train: Array = _arr()
    spread_test: Array = _arr()
    samplers: tuple = ()                  # rows of eos.compare: sampler, bac, class_acc, n_train, seconds


def eos_rows(run, k_enemies: int = 10) -> list[dict]:
    """Phases 2-3 for every sampler on a run's training fe (cached in derived/eos.json)."""
    from . import eos
    def compute():
        e = run.embeddings()
        return eos.compare(e.fe_train, e.y_train, e.fe_test, e.y_test, e.num_classes, seed=run.config.seed,
                           k=k_enemies)
    return run.derived("eos", {"k_enemies": k_enemies, "samplers": list(eos.SAMPLERS)}, compute)


def eos_figures(study, k_enemies: int = 10) -> EOS:
    from .eos import generalization_gap
    eb, ei = study.embeddings()
    maj, mnr = majority_minority(ei.num_classes)
    gi = generalization_gap(ei.fe_train, ei.y_train, ei.fe_test, ei.y_test, ei.num_classes)
    gb = generalization_gap(eb.fe_train, eb.y_train, eb.fe_test, eb.y_test, eb.num_classes)
    rows = eos_rows(study.imbalanced, k_enemies)
    bac = {r["sampler"]: 100 * r["bac"] for r in rows}
    return EOS(gap_majority=float(gi["mean_gap"][maj]), gap_minority=float(gi["mean_gap"][mnr]),
               e2e_bac=100 * study.imbalanced.metrics["test_bac"], eos_bac=bac["eos"],
               best_other_bac=max(bac[s] for s in ("ros", "smote", "crt")), gap=gi["mean_gap"],
               bal_gap=gb["mean_gap"], spread_train=gi["spread_train"], spread_test=gi["spread_test"],
               samplers=tuple(rows))


FIGURES = {"RQ1": rq1, "RQ2": rq2, "RQ3": rq3, "RQ4": rq4, "RQ5": rq5, "RQ6": rq6, "RQ7": rq7,
           "EOS": eos_figures}
