"""The paper's figures: one frozen dataclass and one function per research question.

Arrays in, figures out. `rq3(rec)` reads a `Record` (the embeddings, metrics, bootstrap resamples
and cached analyses of a study's runs, handed over by `study.py`, which owns all run access),
calls the measures of `measures.py`, and returns an `RQ3` whose fields are the figures RQ3
reports. The paper's own numbers (`paper.PAPER`) are instances of the same classes, under the
same field names, with None where the paper reports nothing; the claims in `claims.py` compare
the two field by field. Accuracies are in percent, as the paper prints them; per-class arrays are
indexed by class (0 = majority, C - 1 = minority, by the imbalance order, for both runs of a
study: DESIGN.md).

One spelling throughout: a field of the balanced reference run starts with `bal_`; a field with
no prefix is the imbalanced run's.

The extensions' figures (EOS, Minority Collapse, Procrustean training) are in `extensions.py`.
"""
from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass, field, fields
from types import MappingProxyType, SimpleNamespace
from typing import Any, Callable, Mapping

import numpy as np

from . import measures as M
from .bootstrap import LEVEL, interval, matched_draws
from .heads import HeadRegime, fit_linear_head, head_bac

Array = np.ndarray
COVERAGE_KS = M.COVERAGE_KS   # K of paper Fig. 3
MEMBER_K = M.MEMBER_K         # instance top-K set size (the paper settles on 7)
TOP_N = M.TOP_N               # "the ten largest / most frequent"
COVERAGE_LEVEL = 0.94         # "K features account for over 94% of training predictions" (Fig. 3)


def _arr(default=None):
    return field(default=default, repr=False, compare=False)


majority_minority = M.majority_minority


@dataclass(frozen=True)
class Record:
    """What a figure function reads: the arrays of a study's runs, by run name ("balanced",
    "imbalanced"; the Procrustean set's "ce_exp" ...; the Minority Collapse ladder's "ratio=10"
    ...). Made by `Study.record`; nothing in it touches a file or a model."""

    embeddings: Mapping[str, Any]                 # run name -> embed.Embeddings
    metrics: Mapping[str, dict]                   # run name -> metrics.json (history included)
    configs: Mapping[str, Any]                    # run name -> RunConfig
    resamples: Any = None                         # bootstrap resamples shared by the study's figures
    analyses: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))  # cached, by name
    seed: int = 0                                 # the study's seed (resamples and draws)

    def pair(self):
        """(balanced, imbalanced) embeddings of a pair study."""
        return self.embeddings["balanced"], self.embeddings["imbalanced"]


@dataclass(frozen=True)
class Analysis:
    """An analysis that costs time (a head trained on embeddings), computed once per run into its
    derived/<name>.json by `study.analyse`: `compute(embeddings, seed, **options)` is a pure
    function of one run's arrays, `key(**options)` what the cached value depends on."""

    name: str                         # derived/<name>.json
    run: str                          # which run of the study it reads
    compute: Callable[..., Any]
    key: Callable[..., dict]


@dataclass(frozen=True)
class Figures:
    """Shared behaviour of the per-RQ dataclasses.

    `boot` holds, for the figures a verdict reads (and the per-class arrays the charts draw with
    error bars), their values in each bootstrap resample of the instances (`bootstrap.py`):
    shape (B,) for a scalar, (B, C) for a per-class array. A figure with no entry has no
    instance-level noise (the trained weights of RQ5, a count fixed by the data)."""

    boot: dict = field(default_factory=dict, repr=False, compare=False)

    def scalars(self) -> dict:
        """The scalar figures (the ones the paper can report), by field name."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.compare and isinstance(getattr(self, f.name), (int, float, np.number, type(None)))}

    def interval(self, name: str, level: float = LEVEL):
        """The bootstrap interval (lo, hi) of one figure (arrays of a per-class figure), or None
        where it has no resamples."""
        return interval(self.boot[name], level) if name in self.boot else None

    def resampled(self) -> SimpleNamespace:
        """The figures as each resample sees them: a field with resamples is its (B,) array,
        any other its observed value. A claim's comparison, applied to this, is applied to
        every resample at once."""
        return SimpleNamespace(**{f.name: self.boot.get(f.name, getattr(self, f.name)) for f in fields(self)})


def _others_over_majority(per_class, majority: int):
    """(B, C) -> (B,): the mean of the other classes over the majority (Tables 3-4, resampled)."""
    others = np.nanmean(np.delete(per_class, majority, axis=1), axis=1)
    return others / per_class[:, majority]


def _train_correct(emb) -> np.ndarray:
    """Per training instance: whether the network classifies it correctly (clean images)."""
    return (M.logits(emb.fe_eff_train, emb.weight_eff, emb.bias).argmax(1) == emb.y_train).astype(np.float32)


# -- RQ1 -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RQ1(Figures):
    """Table 1: test BAC (%) of three models."""

    bal_bac: float | None = None       # trained on balanced data (the cross-entropy reference)
    bac: float | None = None           # trained on imbalanced data
    retrain_bac: float | None = None   # imbalanced extractor, head re-trained on the balanced set's fe


def retrain_head(emb, seed: int, regime: HeadRegime = HeadRegime()) -> dict:
    """RQ1's classifier re-training: a fresh linear head on the frozen extractor's fe of the full
    balanced training set, scored on the test set: {"bac", "pred"} (the test predictions feed
    the bootstrap)."""
    W, b = fit_linear_head(emb.fe_full, emb.y_full, emb.num_classes, seed=seed, regime=regime)
    pred = (np.asarray(emb.fe_test) @ W.T + b).argmax(1)
    return {"bac": head_bac(W, b, emb.fe_test, emb.y_test, emb.num_classes), "pred": pred.tolist()}


RETRAIN = Analysis("retrain", "imbalanced", lambda emb, seed, regime=HeadRegime(), **_: retrain_head(emb, seed, regime),
                   lambda regime=HeadRegime(), **_: {"head_regime": asdict(regime), "with": "pred"})


def rq1(rec: Record) -> RQ1:
    eb, ei = rec.pair()
    rs = rec.resamples
    head = rec.analyses["retrain"]
    boot = {"bal_bac": rs.test_bal.bac(eb.pred_test == eb.y_test),
            "bac": rs.test_imb.bac(ei.pred_test == ei.y_test),
            "retrain_bac": rs.test_imb.bac(np.asarray(head["pred"]) == ei.y_test)}
    return RQ1(bal_bac=100 * rec.metrics["balanced"]["test_bac"], bac=100 * rec.metrics["imbalanced"]["test_bac"],
               retrain_bac=100 * head["bac"], boot=boot)


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


def rq2(rec: Record) -> RQ2:
    eb, ei = rec.pair()
    rs = rec.resamples
    b, i = rec.metrics["balanced"], rec.metrics["imbalanced"]
    tr, te = 100 * np.asarray(i["train_class_acc"]), 100 * np.asarray(i["test_class_acc"])
    maj, mnr = majority_minority(len(tr))
    boot = {"train_class_acc": 100 * rs.train_imb.means(_train_correct(ei)),
            "test_class_acc": 100 * rs.test_imb.means((ei.pred_test == ei.y_test).astype(np.float32)),
            "bal_train_class_acc": 100 * rs.train_bal.means(_train_correct(eb)),
            "bal_test_class_acc": 100 * rs.test_bal.means((eb.pred_test == eb.y_test).astype(np.float32))}
    boot.update(maj_train=boot["train_class_acc"][:, maj], maj_test=boot["test_class_acc"][:, maj],
                min_train=boot["train_class_acc"][:, mnr], min_test=boot["test_class_acc"][:, mnr])
    return RQ2(maj_train=float(tr[maj]), maj_test=float(te[maj]), min_train=float(tr[mnr]),
               min_test=float(te[mnr]), train_class_acc=tr, test_class_acc=te,
               bal_train_class_acc=100 * np.asarray(b["train_class_acc"]),
               bal_test_class_acc=100 * np.asarray(b["test_class_acc"]),
               train_counts=np.asarray(i["train_counts"]), boot=boot)


# -- RQ3 -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RQ3(Figures):
    """Fig. 3: how many of the largest ce decide a prediction (top-K coverage, training set)."""

    k94: int | None = None             # smallest K covering >= 94% of training predictions (imbalanced)
    bal_k94: int | None = None         # the same, balanced run
    H: int | None = None               # fe dimension
    c2_majority: float | None = None   # class top-2 coverage (%) of the majority, imbalanced run
    c2_minority: float | None = None   # ... of the minority
    coverage_ks: tuple = COVERAGE_KS
    class_coverage: Array = _arr()     # (C, len(ks)) imbalanced run
    bal_class_coverage: Array = _arr()
    coverage_all: Array = _arr()       # (H + 1,): coverage for K = 1 .. H + 1, imbalanced run
    bal_coverage_all: Array = _arr()


def k_for_coverage(coverage_all, level: float = COVERAGE_LEVEL):
    """Smallest K whose top-K coverage reaches `level` (coverage_all[..., K-1] is K's coverage);
    vectorised over leading axes (resamples)."""
    c = np.asarray(coverage_all)
    hit = c >= level
    k = np.where(hit.any(-1), hit.argmax(-1) + 1, c.shape[-1])
    return int(k) if k.ndim == 0 else k


def _coverage(emb, rs):
    kstar = M.instance_top_k(emb.fe_eff_train, emb.weight_eff, emb.bias)
    H = emb.weight_eff.shape[1]
    # resampled: each class's count of instances with K*(n) = K, cumulated over K
    class_cum = np.cumsum(rs.code_counts(kstar - 1, H + 1), axis=2)        # (B, C, H + 1)
    all_cum = class_cum.sum(1) / rs.N
    with np.errstate(invalid="ignore", divide="ignore"):
        class_cum = class_cum / rs.sizes[None, :, None]
    return (M.class_top_k_coverage(kstar, emb.y_train, COVERAGE_KS, emb.num_classes),
            M.top_k_coverage(kstar, range(1, H + 2)), class_cum, all_cum)


def rq3(rec: Record) -> RQ3:
    eb, ei = rec.pair()
    rs = rec.resamples
    cls_b, all_b, _, all_b_rs = _coverage(eb, rs.train_bal)
    cls_i, all_i, cls_i_rs, all_i_rs = _coverage(ei, rs.train_imb)
    maj, mnr = majority_minority(ei.num_classes)
    j = COVERAGE_KS.index(2)
    boot = {"k94": k_for_coverage(all_i_rs), "bal_k94": k_for_coverage(all_b_rs),
            "c2_majority": 100 * cls_i_rs[:, maj, 1], "c2_minority": 100 * cls_i_rs[:, mnr, 1]}
    return RQ3(k94=k_for_coverage(all_i), bal_k94=k_for_coverage(all_b), H=ei.weight_eff.shape[1],
               c2_majority=100 * float(cls_i[maj, j]), c2_minority=100 * float(cls_i[mnr, j]),
               class_coverage=cls_i, bal_class_coverage=cls_b, coverage_all=all_i, bal_coverage_all=all_b,
               boot=boot)


# -- RQ4 -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RQ4(Figures):
    """Figs. 4-6, Tables 3-4: magnitudes of the class-mean ce."""

    largest_ce_majority: float | None = None   # Table 3: the majority's largest class-mean ce
    largest_ce_others: float | None = None     # ... the mean of the other classes' largest
    largest_ce_ratio: float | None = None      # others / majority (imbalanced run)
    bal_largest_ce_ratio: float | None = None  # the same ratio in the balanced run
    top_ce_share_majority: float | None = None  # Table 4: largest ce / predicted logit, majority
    top_ce_share_others: float | None = None
    top_ce_share_ratio: float | None = None
    class_mean_ce_top: Array = _arr()          # (C, 10) imbalanced run, sorted
    bal_class_mean_ce_top: Array = _arr()
    top_ce_share: Array = _arr()               # (C, 7) imbalanced run
    bal_top_ce_share: Array = _arr()


def _resampled_mean_ce(emb, rs):
    """(B, C, H): each resample's class-mean ce (class-mean fe' times W')."""
    return rs.means(emb.fe_eff_train, key="fe_eff") * np.asarray(emb.weight_eff, np.float64)[None]


def rq4(rec: Record) -> RQ4:
    eb, ei = rec.pair()
    rs = rec.resamples
    maj, _ = majority_minority(ei.num_classes)
    shares = {}
    for name, e in (("bal", eb), ("imb", ei)):
        shares[name] = M.instance_top_ce_share(e.fe_eff_train, e.weight_eff, e.bias)
    ce_b = M.class_mean_ce(eb.fe_eff_train, eb.weight_eff, eb.y_train, eb.num_classes)
    ce_i = M.class_mean_ce(ei.fe_eff_train, ei.weight_eff, ei.y_train, ei.num_classes)
    share_b = M.class_means(shares["bal"], eb.y_train, eb.num_classes)
    share_i = M.class_means(shares["imb"], ei.y_train, ei.num_classes)
    t3, t3b = M.largest_class_ce(ce_i, maj), M.largest_class_ce(ce_b, maj)
    t4 = M.majority_vs_others(share_i[:, 0], maj)
    largest_i = _resampled_mean_ce(ei, rs.train_imb).max(2)
    share0 = rs.train_imb.means(shares["imb"][:, 0])
    boot = {"largest_ce_ratio": _others_over_majority(largest_i, maj),
            "bal_largest_ce_ratio": _others_over_majority(_resampled_mean_ce(eb, rs.train_bal).max(2), maj),
            "largest_ce_majority": largest_i[:, maj], "top_ce_share_ratio": _others_over_majority(share0, maj)}
    return RQ4(largest_ce_majority=t3["majority"], largest_ce_others=t3["others"],
               largest_ce_ratio=t3["ratio"], bal_largest_ce_ratio=t3b["ratio"],
               top_ce_share_majority=t4["majority"], top_ce_share_others=t4["others"],
               top_ce_share_ratio=t4["ratio"],
               class_mean_ce_top=M.top_values(ce_i, TOP_N)[0], bal_class_mean_ce_top=M.top_values(ce_b, TOP_N)[0],
               top_ce_share=share_i, bal_top_ce_share=share_b, boot=boot)


# -- RQ5 -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RQ5(Figures):
    """Fig. 7: classifier weights. Magnitudes of the head's *raw* W, also for a cosine head (its
    normalised rows all have norm 1, which would erase what RQ5 asks about: DESIGN.md). The
    weights are parameters of the trained network, not a mean over instances: they have no
    bootstrap interval (only seeds vary them); the class-mean ce does."""

    w_sum_majority: float | None = None   # sum of the majority's ten largest |W| (imbalanced run)
    w_sum_minority: float | None = None
    w_max: float | None = None            # the largest |W|
    ce_max: float | None = None           # the largest class-mean ce (effective operands)
    weight_top: Array = _arr()            # (C, 10) imbalanced run, sorted
    bal_weight_top: Array = _arr()
    weight_top_sum: Array = _arr()        # (C,)
    bal_weight_top_sum: Array = _arr()


def rq5(rec: Record) -> RQ5:
    eb, ei = rec.pair()
    rs = rec.resamples
    maj, mnr = majority_minority(ei.num_classes)
    top_i, sum_i = M.weight_magnitudes(ei.weight, TOP_N)
    top_b, sum_b = M.weight_magnitudes(eb.weight, TOP_N)
    ce_i = M.class_mean_ce(ei.fe_eff_train, ei.weight_eff, ei.y_train, ei.num_classes)
    boot = {"ce_max": np.nanmax(_resampled_mean_ce(ei, rs.train_imb), axis=(1, 2))}
    return RQ5(w_sum_majority=float(sum_i[maj]), w_sum_minority=float(sum_i[mnr]),
               w_max=float(np.abs(ei.weight).max()), ce_max=float(np.nanmax(ce_i)),
               weight_top=top_i, bal_weight_top=top_b, weight_top_sum=sum_i, bal_weight_top_sum=sum_b,
               boot=boot)


# -- RQ6 -------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RQ6(Figures):
    """Figs. 8-10a: diversity of fe, with the size-matched control of DESIGN.md: the same counts
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
    fe_members: Array = _arr()            # (C, 10) imbalanced run: the ten most frequent top-7 fe
    fe_member_ratio: Array = _arr()       # (C, 10) their coverage ratios
    features_to_describe: Array = _arr()  # (C,) imbalanced run
    bal_features_to_describe: Array = _arr()
    features_to_describe_matched: Array = _arr()   # (C,) mean over draws of n_matched images
    class_mean_fe_top: Array = _arr()     # (C, 10) imbalanced run, sorted


def _above90(ratio):
    """How many of the ten most frequent top-K fe are held by over 90% of the instances (the
    ten most frequent include every feature above 90%, so: min(10, count above 90%))."""
    return np.minimum((np.nan_to_num(ratio) > 0.9).sum(-1), TOP_N)


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


def rq6(rec: Record) -> RQ6:
    eb, ei = rec.pair()
    rs = rec.resamples
    C, H = ei.num_classes, ei.fe_train.shape[1]
    maj, mnr = majority_minority(C)
    mem_i, mem_b = M.top_k_members(ei.fe_train, MEMBER_K), M.top_k_members(eb.fe_train, MEMBER_K)
    ind_i, ind_b = M.member_indicator(mem_i, H), M.member_indicator(mem_b, H)
    counts_i, counts_b = M.member_counts(mem_i, ei.y_train, C, H), M.member_counts(mem_b, eb.y_train, C, H)
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
    classes_no_tp: int | None = None      # ... of which with no test true positive
    classes_no_fp: int | None = None      # ... and with no test false positive
    fe_overlap_tp_by_class: Array = _arr()
    fe_overlap_fp_by_class: Array = _arr()
    mu_train_top: Array = _arr()          # (C, 10) sorted class-mean fe
    mu_tp_top: Array = _arr()
    mu_fp_top: Array = _arr()


def _overlap_rs(train_share, group_share):
    """(B,): the mean over classes of the identity overlap of the ten most frequent members,
    from resampled (B, C, H) member shares of train (by label) and of a test group."""
    a, b = M.top_set(np.nan_to_num(train_share), TOP_N), M.top_set(np.nan_to_num(group_share), TOP_N)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = (a & b).sum(2) / a.sum(2)
    share = np.where(np.isnan(group_share).any(2), np.nan, share)
    with warnings.catch_warnings():   # a resample with no instance of any group: nan
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(share, axis=1)


def rq7(rec: Record) -> RQ7:
    e = rec.embeddings["imbalanced"]
    rs = rec.resamples
    tr_rs, te_rs = rs.train_imb, rs.test_imb
    C, H = e.num_classes, e.fe_train.shape[1]
    al = M.train_test_alignment(e.fe_train, e.y_train, e.fe_test, e.y_test, e.pred_test, C, MEMBER_K, TOP_N)
    tp, fp = M.tp_fp_groups(e.y_test, e.pred_test)
    r, _ = M.reference_and_adversary(M.logits(e.fe_eff_train, e.weight_eff, e.bias))
    ce_train = M.ce_of(e.fe_eff_train, e.weight_eff, r)
    ce_counts = M.member_counts(M.top_k_members(ce_train, MEMBER_K), e.y_train, C, ce_train.shape[1])
    ce_members = M.class_top_members(ce_counts, TOP_N)[0]
    ce_test = M.ce_of(e.fe_eff_test, e.weight_eff, e.pred_test)
    ce_overlap = {name: M.identity_overlap(ce_members, *M.group_top_members(ce_test, g, C, MEMBER_K, TOP_N))
                  for name, g in (("tp", tp), ("fp", fp))}

    # resampled: train by label, test by TP / FP group (the test set resampled within each label)
    kept = al["classes_kept"]
    mu_tr = tr_rs.means(e.fe_train, key="fe")
    ind = {"fe_train": M.member_indicator(M.top_k_members(e.fe_train, MEMBER_K), H),
           "fe_test": M.member_indicator(M.top_k_members(e.fe_test, MEMBER_K), H),
           "ce_train": M.member_indicator(M.top_k_members(ce_train, MEMBER_K), H),
           "ce_test": M.member_indicator(M.top_k_members(ce_test, MEMBER_K), H)}
    fe_tr_share, ce_tr_share = tr_rs.means(ind["fe_train"], key="fe_members"), tr_rs.means(ind["ce_train"])
    boot = {}
    test_values = np.hstack([e.fe_test, ind["fe_test"], ind["ce_test"]])   # one grouped pass each
    for name, g in (("tp", tp), ("fp", fp)):
        mu, fe_share, ce_share = np.split(te_rs.means(test_values, groups=g, num_groups=C), [H, 2 * H], axis=2)
        boot[f"frob_{name}"] = np.sqrt(np.nansum((mu_tr[:, kept] - mu[:, kept]) ** 2, axis=(1, 2)))
        boot[f"fe_overlap_{name}"] = _overlap_rs(fe_tr_share, fe_share)
        boot[f"ce_overlap_{name}"] = _overlap_rs(ce_tr_share, ce_share)

    def mean(a):
        return float(np.nanmean(a)) if np.isfinite(a).any() else float("nan")

    def top(mu):
        return M.top_values(np.nan_to_num(mu, nan=0.0), TOP_N)[0]

    return RQ7(frob_tp=al["frobenius_tp"], frob_fp=al["frobenius_fp"], fe_overlap_tp=mean(al["overlap_tp"]),
               fe_overlap_fp=mean(al["overlap_fp"]), ce_overlap_tp=mean(ce_overlap["tp"]),
               ce_overlap_fp=mean(ce_overlap["fp"]), classes_left_out=al["classes_left_out"],
               classes_no_tp=al["classes_no_tp"], classes_no_fp=al["classes_no_fp"],
               fe_overlap_tp_by_class=al["overlap_tp"], fe_overlap_fp_by_class=al["overlap_fp"],
               mu_train_top=top(al["mu_train"]), mu_tp_top=top(al["mu_tp"]), mu_fp_top=top(al["mu_fp"]),
               boot=boot)
