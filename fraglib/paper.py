"""The paper's numbers: where a question module's table of them is looked up.

Each question module (`fraglib/rq/*`) holds the paper's Tables 1-4 and the figures quoted in its
text for that question, as instances of its own figures dataclass, one per (dataset, loss), with
None where the paper reports nothing (shown as "–"). BAC and accuracies in percent, as printed.
"""
from __future__ import annotations

import dataclasses
from typing import Mapping

from .config import PAPER_MODELS
from .figures import Figures

BAL_BAC = {"cifar10": 92.65, "svhn": 94.91, "celeba": 96.90}  # one balanced CE model (Table 1's *)
EXPERIMENTS = (("cifar10", "ce"), ("cifar10", "focal"), ("cifar10", "ldam-drw"), ("svhn", "ce"), ("celeba", "ce"))


def paper_figures(table: Mapping, kind: type, dataset: str, loss: str, model: str | None = None):
    """The paper's figures of one question (`table`: its module's PAPER, `kind`: its figures
    class) for a configuration, and a label saying where they come from: the same experiment,
    else CIFAR-10 with the same loss (the paper's closest), else nothing (an empty instance: every
    figure None, shown as "–"). Absolute magnitudes (fields declared `dimensional()`) are shown
    only beside the same dataset and network (`model`: ours; None: the paper's)."""
    for key, label in (((dataset, loss), f"paper ({dataset})"),
                       (("cifar10", loss), "paper (CIFAR-10, same loss)")):
        if key in EXPERIMENTS:
            figs: Figures = table.get(key) or kind()
            if key != (dataset, loss) or (model is not None and model != PAPER_MODELS.get(dataset)):
                figs = dataclasses.replace(figs, **{name: None for name in kind.dimensional_fields()})
            return figs, label
    return kind(), "paper (no such experiment)"
