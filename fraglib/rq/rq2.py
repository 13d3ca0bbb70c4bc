"""RQ2 · Generalization (paper Fig. 2, Table 2): the minority's training accuracy against its test
accuracy, and test accuracy as classes shrink.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..claims import Claim, claim, ours_vs, vs, with_interval
from ..figures import Array, Figures, KeyFigure, Question, Record, arr, majority_minority


@dataclass(frozen=True)
class RQ2(Figures):
    """Fig. 2 and Table 2: clean training and test accuracy (%) per class."""

    maj_train: float | None = None     # imbalanced run, majority class, training accuracy
    maj_test: float | None = None
    min_train: float | None = None     # imbalanced run, minority class
    min_test: float | None = None
    test_acc_rank_corr: float | None = None   # Spearman: test accuracy against the class index (imbalanced)
    n_minority_train: int | None = None  # the minority's training images (its training accuracy is their census)
    train_class_acc: Array = arr()    # (C,) imbalanced run
    test_class_acc: Array = arr()
    bal_train_class_acc: Array = arr()  # (C,) balanced run
    bal_test_class_acc: Array = arr()
    train_counts: Array = arr()       # (C,) imbalanced run's training images per class


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


def compute(rec: Record) -> RQ2:
    """Training accuracy is a census of the network's own training images, not a sample: it is
    fixed in the resamples (another draw of 9 images would be another network: seeds carry that),
    and the minority's size is shown beside it; test accuracy is resampled over the test images."""
    eb, ei = rec.pair()
    rs = rec.resamples
    b, i = rec.metrics["balanced"], rec.metrics["imbalanced"]
    tr, te = 100 * np.asarray(i["train_class_acc"]), 100 * np.asarray(i["test_class_acc"])
    maj, mnr = majority_minority(len(tr))
    boot = {"test_class_acc": 100 * rs.test_imb.means((ei.pred_test == ei.y_test).astype(np.float32)),
            "bal_test_class_acc": 100 * rs.test_bal.means((eb.pred_test == eb.y_test).astype(np.float32))}
    boot.update(maj_test=boot["test_class_acc"][:, maj], min_test=boot["test_class_acc"][:, mnr],
                test_acc_rank_corr=rank_corr_with_index(boot["test_class_acc"]))
    return RQ2(maj_train=float(tr[maj]), maj_test=float(te[maj]), min_train=float(tr[mnr]),
               min_test=float(te[mnr]), test_acc_rank_corr=rank_corr_with_index(te),
               n_minority_train=int(i["train_counts"][mnr]), train_class_acc=tr,
               test_class_acc=te, bal_train_class_acc=100 * np.asarray(b["train_class_acc"]),
               bal_test_class_acc=100 * np.asarray(b["test_class_acc"]),
               train_counts=np.asarray(i["train_counts"]), boot=boot)


def _drop_min(f):
    return f.min_train - f.min_test


def _drop_maj(f):
    return f.maj_train - f.maj_test


def check(o: RQ2, p: RQ2) -> list[Claim]:
    paper = "–" if p.min_train is None else vs(_drop_min(p), _drop_maj(p), ".1f", " pts")
    return [
        claim("RQ2", "The minority class's train-to-test accuracy drop is larger than the majority's "
                     "(imbalanced training; training accuracy is the network's census of its own images, "
                     "fixed in the resamples)", paper,
              ours_vs(o, _drop_min, _drop_maj, ".1f", " pts") + f" (minority: {o.n_minority_train} training images)",
              o, lambda f: _drop_min(f) > _drop_maj(f)),
        claim("RQ2", "Test accuracy declines as classes shrink (rank correlation of per-class test accuracy "
                     "with the class index, imbalanced training; Fig. 2)", "declining",
              f"ρ = {with_interval(o, 'test_acc_rank_corr')}", o, lambda f: f.test_acc_rank_corr < 0),
    ]


PAPER = {
    ("cifar10", "ce"): RQ2(maj_train=98.22, maj_test=94.10, min_train=96.00, min_test=62.30),
    ("cifar10", "focal"): RQ2(maj_train=99.48, maj_test=96.00, min_train=98.00, min_test=39.30),
    ("cifar10", "ldam-drw"): RQ2(maj_train=98.42, maj_test=94.10, min_train=100.0, min_test=72.90),
    ("svhn", "ce"): RQ2(maj_train=99.78, maj_test=98.13, min_train=100.0, min_test=61.47),
    ("celeba", "ce"): RQ2(maj_train=99.88, maj_test=99.10, min_train=94.40, min_test=76.20),
}

QUESTION = Question(
    "RQ2", 2, "rq2_generalization", "RQ2 · Generalization", "pair", compute, check, PAPER,
    KeyFigure("Per-class test accuracy of the imbalanced networks (the paper's Figure 2).", "test accuracy",
              per_class=lambda f: np.asarray(f.test_class_acc) / 100))
