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
from .bootstrap import LEVEL, SMALL_N, clopper_pearson, interval, matched_draws, matched_means, small_n_draws
from .heads import HeadRegime, fit_linear_head, head_bac

Array = np.ndarray
COVERAGE_KS = M.COVERAGE_KS   # K of paper Fig. 3
MEMBER_K = M.MEMBER_K         # instance top-K set size (the paper settles on 7)
TOP_N = M.TOP_N               # "the ten largest / most frequent"
COVERAGE_LEVEL = 0.94         # "K features account for over 94% of training predictions" (Fig. 3)
SHARE_LEVEL = 0.35            # Fig. 6: "5 classes have ce that contribute more than 35% to the predicted logit"
# Absolute magnitudes: they depend on the network and the data's scale, so the paper's (a CIFAR-10
# ResNet-32's) are not set beside another network's or dataset's (paper.paper_figures shows "–")
DIMENSIONAL = {"largest_ce_majority", "largest_ce_others", "w_sum_majority", "w_sum_minority", "w_max", "ce_max",
               "frob_tp", "frob_fp"}


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
    instance-level noise (the trained weights of RQ5, a count fixed by the data): one network's.
    A size-matched control's figure holds its draws there instead (`*_matched`).

    `counts` holds, for a proportion (or a per-class array of them, in %), the (hits, images)
    behind it: an entry from fewer than `SMALL_N` images gets an exact (Clopper-Pearson)
    interval, and its resamples are Jeffreys-posterior draws (`bootstrap.small_n_draws`)."""

    boot: dict = field(default_factory=dict, repr=False, compare=False)
    counts: dict = field(default_factory=dict, repr=False, compare=False)   # name -> (k, n)
    notes: dict = field(default_factory=dict, repr=False, compare=False)    # the paper's: where its statistic differs

    def scalars(self) -> dict:
        """The scalar figures (the ones the paper can report), by field name."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if f.compare and isinstance(getattr(self, f.name), (int, float, np.number, type(None)))}

    def interval(self, name: str, level: float = LEVEL):
        """The 95% interval (lo, hi) of one figure (arrays of a per-class figure): bootstrap
        percentiles, exact for a proportion from fewer than SMALL_N images; None where the figure
        has no resamples (one network's weights)."""
        if name not in self.boot:
            return None
        lo, hi = interval(self.boot[name], level)
        if name in self.counts:
            k, n = (np.asarray(a, float) for a in self.counts[name])
            cp_lo, cp_hi = clopper_pearson(k, n, level)
            small = (n > 0) & (n < SMALL_N)
            lo, hi = np.where(small, 100 * cp_lo, lo), np.where(small, 100 * cp_hi, hi)
        value = getattr(self, name, None)
        if value is not None and np.shape(value) == np.shape(lo):   # an interval holds our own figure
            v = np.asarray(value, float)                           # (a posterior draw is never 9/9 exactly)
            lo, hi = np.fmin(lo, v), np.fmax(hi, v)
        return (float(lo), float(hi)) if np.ndim(lo) == 0 else (lo, hi)

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
    test_acc_rank_corr: float | None = None   # Spearman: test accuracy against the class index (imbalanced)
    train_class_acc: Array = _arr()    # (C,) imbalanced run
    test_class_acc: Array = _arr()
    bal_train_class_acc: Array = _arr()  # (C,) balanced run
    bal_test_class_acc: Array = _arr()
    train_counts: Array = _arr()       # (C,) imbalanced run's training images per class


def rank_corr_with_index(values) -> np.ndarray | float:
    """Spearman's correlation of each row of `values` (..., C) with the class index 0 .. C-1 (the
    imbalance order: a negative value declines as classes shrink); ties share their rank."""
    from scipy.stats import rankdata
    v = np.asarray(values, float)
    r = rankdata(v, axis=-1)
    idx = np.arange(v.shape[-1], dtype=float)
    rc, ic = r - r.mean(-1, keepdims=True), idx - idx.mean()
    with np.errstate(invalid="ignore", divide="ignore"):
        rho = (rc * ic).sum(-1) / np.sqrt((rc ** 2).sum(-1) * (ic ** 2).sum())
    return float(rho) if np.ndim(rho) == 0 else rho


def _hits(acc, counts):
    """(hits, images) per class from a per-class accuracy (0-1) and the class sizes."""
    n = np.asarray(counts, float)
    return np.round(np.asarray(acc, float) * n), n


def rq2(rec: Record) -> RQ2:
    eb, ei = rec.pair()
    rs = rec.resamples
    b, i = rec.metrics["balanced"], rec.metrics["imbalanced"]
    tr, te = 100 * np.asarray(i["train_class_acc"]), 100 * np.asarray(i["test_class_acc"])
    maj, mnr = majority_minority(len(tr))
    k, n = _hits(i["train_class_acc"], i["train_counts"])            # the minority: a handful of images
    kb, nb = _hits(b["train_class_acc"], b["train_counts"])
    boot = {"train_class_acc": small_n_draws(100 * rs.train_imb.means(_train_correct(ei)), k, n, rec.seed, 100),
            "test_class_acc": 100 * rs.test_imb.means((ei.pred_test == ei.y_test).astype(np.float32)),
            "bal_train_class_acc": small_n_draws(100 * rs.train_bal.means(_train_correct(eb)), kb, nb, rec.seed, 100),
            "bal_test_class_acc": 100 * rs.test_bal.means((eb.pred_test == eb.y_test).astype(np.float32))}
    boot.update(maj_train=boot["train_class_acc"][:, maj], maj_test=boot["test_class_acc"][:, maj],
                min_train=boot["train_class_acc"][:, mnr], min_test=boot["test_class_acc"][:, mnr],
                test_acc_rank_corr=rank_corr_with_index(boot["test_class_acc"]))
    counts = {"train_class_acc": (k, n), "bal_train_class_acc": (kb, nb), "maj_train": (k[maj], n[maj]),
              "min_train": (k[mnr], n[mnr])}
    return RQ2(maj_train=float(tr[maj]), maj_test=float(te[maj]), min_train=float(tr[mnr]),
               min_test=float(te[mnr]), test_acc_rank_corr=rank_corr_with_index(te), train_class_acc=tr,
               test_class_acc=te, bal_train_class_acc=100 * np.asarray(b["train_class_acc"]),
               bal_test_class_acc=100 * np.asarray(b["test_class_acc"]),
               train_counts=np.asarray(i["train_counts"]), boot=boot, counts=counts)


# -- RQ3 -------------------------------------------------------------------------------------------
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
    cls_b, all_b, cls_b_rs, all_b_rs = _coverage(eb, rs.train_bal)
    cls_i, all_i, cls_i_rs, all_i_rs = _coverage(ei, rs.train_imb)
    maj, mnr = majority_minority(ei.num_classes)
    j2, j7 = COVERAGE_KS.index(2), COVERAGE_KS.index(7)
    n_i, n_b = rs.train_imb.sizes.astype(float), rs.train_bal.sizes.astype(float)

    def at_k(cls, cls_rs, n, j, K):   # class coverage at K: (C,) observed, (B, C) with small-n draws
        return cls[:, j], small_n_draws(cls_rs[:, :, min(K, cls_rs.shape[2]) - 1], np.round(cls[:, j] * n), n, rec.seed)
    c2, c2_rs = at_k(cls_i, cls_i_rs, n_i, j2, 2)
    c7, c7_rs = at_k(cls_i, cls_i_rs, n_i, j7, 7)
    bc7, bc7_rs = at_k(cls_b, cls_b_rs, n_b, j7, 7)
    boot = {"k94": k_for_coverage(all_i_rs), "bal_k94": k_for_coverage(all_b_rs),
            "c2_majority": 100 * c2_rs[:, maj], "c2_minority": 100 * c2_rs[:, mnr],
            "c7_min": 100 * np.nanmin(c7_rs, axis=1), "bal_c7_min": 100 * np.nanmin(bc7_rs, axis=1)}
    counts = {"c2_majority": (np.round(c2[maj] * n_i[maj]), n_i[maj]),
              "c2_minority": (np.round(c2[mnr] * n_i[mnr]), n_i[mnr])}
    return RQ3(k94=k_for_coverage(all_i), bal_k94=k_for_coverage(all_b), H=ei.weight_eff.shape[1],
               c2_majority=100 * float(c2[maj]), c2_minority=100 * float(c2[mnr]),
               c7_min=100 * float(np.nanmin(c7)), bal_c7_min=100 * float(np.nanmin(bc7)),
               class_coverage=cls_i, bal_class_coverage=cls_b, coverage_all=all_i, bal_coverage_all=all_b,
               boot=boot, counts=counts)


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
    top_share_max: float | None = None         # Fig. 6: the largest class-mean share of one ce in the logit (%)
    bal_top_share_max: float | None = None     # ... in the balanced run
    n_share_above35: int | None = None         # imbalanced classes whose largest ce is > 35% of the logit
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
    share0_b = rs.train_bal.means(shares["bal"][:, 0])
    boot = {"largest_ce_ratio": _others_over_majority(largest_i, maj),
            "bal_largest_ce_ratio": _others_over_majority(_resampled_mean_ce(eb, rs.train_bal).max(2), maj),
            "largest_ce_majority": largest_i[:, maj], "top_ce_share_ratio": _others_over_majority(share0, maj),
            "top_share_max": 100 * np.nanmax(share0, axis=1), "bal_top_share_max": 100 * np.nanmax(share0_b, axis=1),
            "n_share_above35": (share0 > SHARE_LEVEL).sum(1)}
    return RQ4(largest_ce_majority=t3["majority"], largest_ce_others=t3["others"],
               largest_ce_ratio=t3["ratio"], bal_largest_ce_ratio=t3b["ratio"],
               top_ce_share_majority=t4["majority"], top_ce_share_others=t4["others"],
               top_ce_share_ratio=t4["ratio"], top_share_max=100 * float(np.nanmax(share_i[:, 0])),
               bal_top_share_max=100 * float(np.nanmax(share_b[:, 0])),
               n_share_above35=int((share_i[:, 0] > SHARE_LEVEL).sum()),
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
    # Scale-free (rescaling fe by a and W by 1/a changes no logit, and none of these): each class's
    # largest class-mean ce is a product f_c * w_c; the log excess of the other classes over the
    # majority, mean_c log(x_c) - log(x_majority), splits into the fe factor's and W's.
    excess_fe: float | None = None        # the fe factor's share of the others' excess (log)
    excess_w: float | None = None         # the W factor's
    weight_top: Array = _arr()            # (C, 10) imbalanced run, sorted
    bal_weight_top: Array = _arr()
    weight_top_sum: Array = _arr()        # (C,)
    bal_weight_top_sum: Array = _arr()


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


def rq5(rec: Record) -> RQ5:
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
    """Fig. 10: class-mean fe in training vs test true and false positives (imbalanced run).

    TP and FP are grouped by *prediction* (the paper's reading: an FP of class c is an image
    predicted c that is not c). Every figure is over one class set, the classes with both TP and
    FP. A class has many more TP than FP as a rule, and a mean over fewer images lies further from
    any other mean: the `*_matched` figures draw each class's TP at the size of its FP (1,000
    draws; their mean, the draws in `boot`), the control the distance and overlap claims vote on."""

    frob_tp: float | None = None          # ||mu_train - mu_TP||_F over the classes kept
    frob_fp: float | None = None          # ||mu_train - mu_FP||_F
    frob_tp_matched: float | None = None  # ... TP drawn at each class's FP size (mean over draws)
    frob_fp_by_label: float | None = None  # the other reading: misclassified images grouped by label
    fe_overlap_tp: float | None = None    # identity overlap of the 10 most frequent top-7 fe
    fe_overlap_fp: float | None = None
    fe_overlap_tp_matched: float | None = None
    ce_overlap_tp: float | None = None    # the same for ce of the predicted class
    ce_overlap_fp: float | None = None
    ce_overlap_tp_matched: float | None = None
    mag_tp: float | None = None           # the ten largest class-mean training fe, in TP, over training (ratio)
    mag_fp: float | None = None           # ... in FP ("approx. half of their training values")
    classes_left_out: int | None = None   # classes with no TP or no FP, left out of every figure
    classes_no_tp: int | None = None      # ... of which with no test true positive
    classes_no_fp: int | None = None      # ... and with no test false positive
    fe_overlap_tp_by_class: Array = _arr()
    fe_overlap_fp_by_class: Array = _arr()
    mag_tp_by_class: Array = _arr()
    mag_fp_by_class: Array = _arr()
    mu_train_top: Array = _arr()          # (C, 10) sorted class-mean fe
    mu_tp_top: Array = _arr()
    mu_fp_top: Array = _arr()


def _mean_kept(a):
    with warnings.catch_warnings():   # no class kept at all: nan
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(a, axis=-1)


def rq7(rec: Record) -> RQ7:
    e = rec.embeddings["imbalanced"]
    rs = rec.resamples
    C, H = e.num_classes, e.fe_train.shape[1]
    tp, fp = M.tp_fp_groups(e.y_test, e.pred_test)
    n_tp, n_fp = np.bincount(tp[tp >= 0], minlength=C), np.bincount(fp[fp >= 0], minlength=C)
    kept = (n_tp > 0) & (n_fp > 0)
    r, _ = M.reference_and_adversary(M.logits(e.fe_eff_train, e.weight_eff, e.bias))
    ce_train = M.ce_of(e.fe_eff_train, e.weight_eff, r)
    ce_test = M.ce_of(e.fe_eff_test, e.weight_eff, e.pred_test)
    train_values = np.hstack([e.fe_train, M.member_indicator(M.top_k_members(e.fe_train, MEMBER_K), H),
                              M.member_indicator(M.top_k_members(ce_train, MEMBER_K), H)])
    test_values = np.hstack([e.fe_test, M.member_indicator(M.top_k_members(e.fe_test, MEMBER_K), H),
                             M.member_indicator(M.top_k_members(ce_test, MEMBER_K), H)])

    def split(means):   # (..., C, 3H) -> mean fe, fe member share, ce member share
        return np.split(means, [H, 2 * H], axis=-1)

    def figures_of(tr, tp_m, fp_m):
        (mu_tr, fe_tr, ce_tr), (mu_tp, fe_tp, ce_tp), (mu_fp, fe_fp, ce_fp) = split(tr), split(tp_m), split(fp_m)
        return {"frob_tp": M.frobenius_to(mu_tr, mu_tp, kept), "frob_fp": M.frobenius_to(mu_tr, mu_fp, kept),
                "fe_tp": M.top_member_overlap(fe_tr, fe_tp, kept), "fe_fp": M.top_member_overlap(fe_tr, fe_fp, kept),
                "ce_tp": M.top_member_overlap(ce_tr, ce_tp, kept), "ce_fp": M.top_member_overlap(ce_tr, ce_fp, kept),
                "mag_tp": M.top_magnitude_ratio(mu_tr, mu_tp, kept), "mag_fp": M.top_magnitude_ratio(mu_tr, mu_fp, kept)}

    tr = M.class_means(train_values, e.y_train, C)
    tp_means, fp_means = (M.class_means(test_values[g >= 0], g[g >= 0], C) for g in (tp, fp))
    obs = figures_of(tr, tp_means, fp_means)
    boot_f = figures_of(rs.train_imb.means(train_values, key="rq7_train"),
                        rs.test_imb.means(test_values, groups=tp, num_groups=C),
                        rs.test_imb.means(test_values, groups=fp, num_groups=C))
    matched = split(matched_means(test_values, tp, n_fp, rs.B, rec.seed))     # TP at each class's FP size
    mu_tr, fe_tr, ce_tr = split(tr)
    m = {"frob_tp_matched": M.frobenius_to(mu_tr, matched[0], kept),
         "fe_overlap_tp_matched": _mean_kept(M.top_member_overlap(fe_tr, matched[1], kept)),
         "ce_overlap_tp_matched": _mean_kept(M.top_member_overlap(ce_tr, matched[2], kept))}
    wrong = np.where(e.pred_test != e.y_test, e.y_test, -1)                 # the other reading: by label
    mu_wrong = M.class_means(e.fe_test[wrong >= 0], wrong[wrong >= 0], C)
    boot = {"frob_tp": boot_f["frob_tp"], "frob_fp": boot_f["frob_fp"],
            "fe_overlap_tp": _mean_kept(boot_f["fe_tp"]), "fe_overlap_fp": _mean_kept(boot_f["fe_fp"]),
            "ce_overlap_tp": _mean_kept(boot_f["ce_tp"]), "ce_overlap_fp": _mean_kept(boot_f["ce_fp"]),
            "mag_tp": _mean_kept(boot_f["mag_tp"]), "mag_fp": _mean_kept(boot_f["mag_fp"]), **m}

    def top(mu):
        return M.top_values(np.nan_to_num(mu, nan=0.0), TOP_N)[0]

    no_tp, no_fp = int((n_tp == 0).sum()), int((n_fp == 0).sum())
    return RQ7(frob_tp=float(obs["frob_tp"]), frob_fp=float(obs["frob_fp"]),
               frob_tp_matched=float(np.mean(m["frob_tp_matched"])),
               frob_fp_by_label=float(M.frobenius_to(mu_tr, mu_wrong, kept & ~np.isnan(mu_wrong).any(1))),
               fe_overlap_tp=float(_mean_kept(obs["fe_tp"])), fe_overlap_fp=float(_mean_kept(obs["fe_fp"])),
               fe_overlap_tp_matched=float(np.nanmean(m["fe_overlap_tp_matched"])),
               ce_overlap_tp=float(_mean_kept(obs["ce_tp"])), ce_overlap_fp=float(_mean_kept(obs["ce_fp"])),
               ce_overlap_tp_matched=float(np.nanmean(m["ce_overlap_tp_matched"])),
               mag_tp=float(_mean_kept(obs["mag_tp"])), mag_fp=float(_mean_kept(obs["mag_fp"])),
               classes_left_out=int((~kept).sum()), classes_no_tp=no_tp, classes_no_fp=no_fp,
               fe_overlap_tp_by_class=obs["fe_tp"], fe_overlap_fp_by_class=obs["fe_fp"],
               mag_tp_by_class=obs["mag_tp"], mag_fp_by_class=obs["mag_fp"],
               mu_train_top=top(mu_tr), mu_tp_top=top(split(tp_means)[0]), mu_fp_top=top(split(fp_means)[0]),
               boot=boot)
