"""What several test modules share (fixtures stay in conftest.py): the repository root and the
tiny profile's runs."""
from __future__ import annotations

from pathlib import Path

from fraglib.config import RunConfig

REPO = Path(__file__).resolve().parents[1]


def tiny(loss="ce", ratio=100, **kw) -> RunConfig:
    """A tiny-profile Fashion-MNIST run (seconds to train; what the tests train)."""
    return RunConfig.make("fashion-mnist", loss, ratio, profile="tiny", **kw)


def no_training(monkeypatch) -> None:
    """Make any training in the run store fail the test (what must be recovered, not retrained)."""
    import pytest

    import fraglib.train   # the run store imports train() where it trains
    monkeypatch.setattr(fraglib.train, "train", lambda *a, **k: pytest.fail("trained again"))


def fake_run(fe, y, W, b=None, W_eff=None, fe_eff=None, fe_test=None, y_test=None, test_bac=0.5,
             train_acc=None):
    """Stand-ins for a run's embeddings and metrics, nothing trained: (embeddings, metrics)."""
    from types import SimpleNamespace

    import numpy as np
    fe, W = np.asarray(fe, float), np.asarray(W, float)
    b = np.zeros(len(W)) if b is None else np.asarray(b, float)
    W_eff = W if W_eff is None else np.asarray(W_eff, float)
    fe_eff = fe if fe_eff is None else np.asarray(fe_eff, float)
    fe_test = fe if fe_test is None else np.asarray(fe_test, float)
    y_test = np.asarray(y if y_test is None else y_test)
    emb = SimpleNamespace(fe_train=fe, y_train=np.asarray(y), fe_eff_train=fe_eff, fe_test=fe_test,
                          fe_eff_test=fe_test, y_test=y_test, weight=W, weight_eff=W_eff, bias=b,
                          num_classes=len(W), pred_test=(fe_test @ W_eff.T + b).argmax(1))
    C = len(W)
    acc = [1.0] * C if train_acc is None else train_acc
    metrics = {"test_bac": test_bac, "train_class_acc": acc, "test_class_acc": acc,
               "train_counts": np.bincount(y, minlength=C).tolist()}
    return emb, metrics


def fake_record(balanced, imbalanced, B: int = 200, seed: int = 0, analyses=None):
    """A pair study's `figures.Record` from two `fake_run`s (the bootstrap drawn as a study does)."""
    from fraglib.bootstrap import pair_resamples
    from fraglib.figures import Record
    (eb, mb), (ei, mi) = balanced, imbalanced
    return Record(embeddings={"balanced": eb, "imbalanced": ei}, metrics={"balanced": mb, "imbalanced": mi},
                  configs={}, resamples=pair_resamples(eb, ei, B=B, seed=seed), analyses=analyses or {}, seed=seed)


def paper_of(dataset: str, loss: str, kind: type, model: str | None = None):
    """`paper.paper_figures` for a figures class: its question module's table of the paper's numbers."""
    import sys

    from fraglib.paper import paper_figures
    return paper_figures(getattr(sys.modules[kind.__module__], "PAPER", {}), kind, dataset, loss, model)
