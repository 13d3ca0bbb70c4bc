"""A toy question of the kind a reader adds: one module (its figures, its claims, its row), and a
chapter beside it (toy_chapter.py). Its one claim compares a figure of the trained weights, so
it has no resampling noise: "holds (one network)" in every seed, which every page must count as
holding (the comparison page once counted only "holds" and read 0 of 3)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from fraglib.claims import claim, vs
from fraglib.figures import Figures, Question, Record


@dataclass(frozen=True)
class Toy(Figures):
    w_norm: float | None = None      # the imbalanced head's weight norm (one network's: no resamples)


def compute(rec: Record) -> Toy:
    return Toy(w_norm=float(np.linalg.norm(rec.embeddings["imbalanced"].weight)))


def check(o: Toy, p: Toy) -> list:
    return [claim("TOY", "The head has weights", vs(p.w_norm, 0.0), vs(o.w_norm, 0.0), o, lambda f: f.w_norm > 0)]


QUESTION = Question("TOY", 99, "toy_chapter", "Toy · a question of one's own", "pair", compute, check,
                    scope="profile", needs_regime=False, constants={"answer": (42, "the toy's number")},
                    notebook=str(Path(__file__).with_name("toy_chapter.py")))
