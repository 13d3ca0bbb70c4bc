"""RQ1 · Classifier re-training (paper Table 1): does a linear head re-trained on the imbalanced
extractor's fe of the full balanced training set recover the balanced network's BAC?
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..claims import Claim, claim, ours_vs, vs
from ..figures import Analysis, Figures, KeyFigure, Question, Record
from ..heads import HeadRegime, fit_linear_head, head_bac, pack_labels, unpack_labels
from ..paper import BAL_BAC


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
    if emb.fe_full is None:
        raise ValueError("these embeddings hold no full balanced set (another selection rule's epoch keeps it "
                         "apart): read them with embeddings(full=True)")
    W, b = fit_linear_head(emb.fe_full, emb.y_full, emb.num_classes, seed=seed, regime=regime)
    pred = (np.asarray(emb.fe_test) @ W.T + b).argmax(1)
    return {"bac": head_bac(W, b, emb.fe_test, emb.y_test, emb.num_classes), "pred": pack_labels(pred)}


RETRAIN = Analysis("retrain", "imbalanced", lambda emb, seed, regime=HeadRegime(), **_: retrain_head(emb, seed, regime),
                   lambda regime=HeadRegime(), **_: {"head_regime": asdict(regime), "with": "pred"}, full=True)


def compute(rec: Record) -> RQ1:
    eb, ei = rec.pair()
    rs = rec.resamples
    head = rec.analyses["retrain"]
    boot = {"bal_bac": rs.test_bal.bac(eb.pred_test == eb.y_test),
            "bac": rs.test_imb.bac(ei.pred_test == ei.y_test),
            "retrain_bac": rs.test_imb.bac(unpack_labels(head["pred"]) == ei.y_test)}
    return RQ1(bal_bac=100 * rec.metrics["balanced"]["test_bac"], bac=100 * rec.metrics["imbalanced"]["test_bac"],
               retrain_bac=100 * head["bac"], boot=boot)


def check(o: RQ1, p: RQ1) -> list[Claim]:
    return [
        claim("RQ1", "The balanced-trained BAC is not recovered by a linear head re-trained this way (a fresh "
                     "head on the imbalanced extractor's fe of the full balanced set)", vs(p.retrain_bac, p.bal_bac),
              ours_vs(o, "retrain_bac", "bal_bac"), o, lambda f: f.retrain_bac < f.bal_bac),
        claim("RQ1", "... but re-training improves on the imbalanced-trained BAC", vs(p.retrain_bac, p.bac),
              ours_vs(o, "retrain_bac", "bac"), o, lambda f: f.retrain_bac > f.bac),
    ]


PAPER = {
    ("cifar10", "ce"): RQ1(bal_bac=BAL_BAC["cifar10"], bac=72.56, retrain_bac=78.60),
    ("cifar10", "focal"): RQ1(bal_bac=BAL_BAC["cifar10"], bac=70.20, retrain_bac=80.44),
    ("cifar10", "ldam-drw"): RQ1(bal_bac=BAL_BAC["cifar10"], bac=77.80, retrain_bac=80.30),
    ("svhn", "ce"): RQ1(bal_bac=BAL_BAC["svhn"], bac=83.29, retrain_bac=85.60),
    ("celeba", "ce"): RQ1(bal_bac=BAL_BAC["celeba"], bac=87.65, retrain_bac=92.70),
}

QUESTION = Question(
    "RQ1", 1, "rq1_retraining", "RQ1 · Classifier re-training", "pair", compute, check, PAPER,
    KeyFigure("Test BAC (%) of the three models of Table 1, every configuration.", "test BAC (%)",
              bars=(("bal_bac", "balanced-trained"), ("bac", "imbalanced-trained"), ("retrain_bac", "head re-trained"))),
    analyses=(RETRAIN,), constants={"head_epochs": (HeadRegime().epochs, "epochs of the re-trained head"),
                                     "head_lr": (HeadRegime().lr, "its initial learning rate (cosine-decayed)")})
