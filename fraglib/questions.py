"""The table of questions, assembled from the question modules (`fraglib/rq/*`), never by hand.

Every other table is derived from this one: the chapters the book executes and their order, the
table of contents' captions, the figure and claims functions a study applies, the costly
analyses trained runs are prepared with, the key figure of each comparison page, and which
verdicts the summary counts. Adding a question is one module in `fraglib/rq/` (its `QUESTION`
row) and its chapter (`notebooks/<chapter>.py`). A question of your own can also live outside the
package: name its module in `FRAGLIB_QUESTIONS` (importable names, comma-separated; its row's
`notebook` says where its chapter is), and the book, its kernels and the CLI take it up like the
rest. `register` adds a row for the duration of a `with` block (a test's toy question).

A row's `runs` names the kind of study it reads (config.RUN_SETS): "pair" (the balanced
reference and the imbalanced run of one configuration), "ladder" (Minority Collapse's ratios),
"procrustean" (its four runs). Its `scope` says how many pages it gets: one per configuration of
the profile's matrix, or one per profile (the matrix's first dataset).
"""
from __future__ import annotations

import importlib
import os
import pkgutil
from contextlib import contextmanager

from . import rq
from .config import check_choice
from .figures import KeyFigure, Question

__all__ = ["KeyFigure", "Question", "QUESTIONS", "BY_ID", "CHAPTERS", "question", "register"]


EXTRA = "FRAGLIB_QUESTIONS"   # question modules outside fraglib/rq/: importable names, comma-separated


def _discover() -> list[Question]:
    names = [f"{rq.__name__}.{m.name}" for m in pkgutil.iter_modules(rq.__path__)]
    names += [n.strip() for n in os.environ.get(EXTRA, "").split(",") if n.strip()]
    rows = []
    for name in names:
        try:
            rows.append(importlib.import_module(name).QUESTION)
        except (ImportError, AttributeError) as e:
            raise RuntimeError(f"{EXTRA}: {name} is no question module ({e})") from None
    ids = [r.id for r in rows]
    if len(set(ids)) != len(ids) or len({r.chapter for r in rows}) != len(rows):
        raise RuntimeError(f"two question modules share an id or a chapter: {sorted(ids)}")
    return sorted(rows, key=lambda r: r.position)


QUESTIONS: list[Question] = _discover()
BY_ID = {q.id: q for q in QUESTIONS}
CHAPTERS = {q.chapter: q for q in QUESTIONS}


def question(name: str) -> Question:
    """A row by its id ("RQ3") or its chapter ("rq3_top_k"); an unknown name lists the valid ones."""
    if name in CHAPTERS:
        return CHAPTERS[name]
    check_choice("question", name, tuple(BY_ID))
    return BY_ID[name]


@contextmanager
def register(row: Question):
    """A question added to the table for the duration of a `with` block (a toy question in a test;
    a module in fraglib/rq/ is the lasting way)."""
    if row.id in BY_ID or row.chapter in CHAPTERS:
        raise ValueError(f"a question {row.id} or a chapter {row.chapter} is already in the table")
    QUESTIONS.append(row)
    QUESTIONS.sort(key=lambda r: r.position)
    BY_ID[row.id], CHAPTERS[row.chapter] = row, row
    try:
        yield row
    finally:
        QUESTIONS.remove(row)
        del BY_ID[row.id], CHAPTERS[row.chapter]
