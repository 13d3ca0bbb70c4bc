"""The paper's measures as pure, vectorised functions of arrays (DESIGN.md).

No model and no file inside: a chapter calls them on any run's embeddings, a test on a
hand-made example whose answer is known.
"""
from __future__ import annotations

import numpy as np


def per_class_accuracy(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Recall of each class (nan for a class with no instance)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    hits = np.bincount(y_true[y_true == y_pred], minlength=num_classes)
    totals = np.bincount(y_true, minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hits / totals


def balanced_accuracy(y_true, y_pred, num_classes: int) -> float:
    """BAC: the mean over classes (present in y_true) of per-class recall."""
    return float(np.nanmean(per_class_accuracy(y_true, y_pred, num_classes)))
