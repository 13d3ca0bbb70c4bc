"""What a question module is made of: the figures base class, the record it reads, the costly
analyses, and its row of the table of questions.

A question's science lives in one module of `fraglib/rq/` (its figures dataclass and figure
function, its analyses, the paper's numbers for it, its claims, its key figure, its row): arrays
in, figures out. A figure function reads a `Record` (the embeddings, metrics, bootstrap resamples
and cached analyses of a study's runs, handed over by `study.py`, which owns all run access) and
returns a frozen `Figures` subclass whose fields are the figures the question reports. The
paper's own numbers are instances of the same class, under the same field names, with None where
the paper reports nothing; the claims compare the two field by field. Accuracies are in percent,
as the paper prints them; per-class arrays are indexed by class (0 = majority, C - 1 = minority,
by the imbalance order, for both runs of a study: book/methods.md, "Measures").

One spelling throughout: a field of the balanced reference run starts with `bal_`; a field with
no prefix is the imbalanced run's. What a field is, it says on the field: `arr()` for a per-class
array the charts draw (not a figure the paper can report), `dimensional()` for an absolute
magnitude that depends on the network and the data's scale (the paper's, a CIFAR-10 ResNet-32's,
is not set beside another network's: `paper.paper_figures` shows "–").
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from types import MappingProxyType, SimpleNamespace
from typing import Any, Callable, Mapping

import numpy as np

from . import measures as M
from .bootstrap import LEVEL, SMALL_N, clopper_pearson, interval
from .config import RUN_SETS, check_choice
from .multiverse import choice

Array = np.ndarray
MEMBER_K = M.MEMBER_K         # instance top-K set size (the paper settles on 7)
TOP_N = M.TOP_N               # "the ten largest / most frequent"
SCOPES = ("configuration", "profile")


def arr(default=None):
    """A per-class array (drawn, not compared with the paper)."""
    return field(default=default, repr=False, compare=False)


def dimensional(default=None):
    """An absolute magnitude: shown beside the paper's only for the same dataset and network."""
    return field(default=default, metadata={"dimensional": True})


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
    full: bool = False                # reads the full balanced set's fe (fe_full), which a run keeps
                                      # apart at another selection rule's epoch (`runs.AtEpoch.embeddings`)


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
    spec: dict = field(default_factory=dict, repr=False, compare=False)     # the analysis choices made (multiverse.py)

    def chosen(self, name: str):
        """The value of an analysis choice these figures were computed (and are judged) under: the
        specification's, else the book's default (`multiverse.CHOICES`)."""
        return self.spec.get(name, choice(name).default)

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
        # never widened to hold the observed figure: where it lies outside (a count of distinct
        # features is biased low in a resample), `outside` says so and the tables mark it
        return (float(lo), float(hi)) if np.ndim(lo) == 0 else (lo, hi)

    def outside(self, name: str) -> bool:
        """Whether a scalar figure lies outside its own resamples' interval (shown with a mark)."""
        iv, value = self.interval(name), getattr(self, name, None)
        return (iv is not None and value is not None and np.ndim(iv[0]) == 0 and np.isfinite(value)
                and not iv[0] <= float(value) <= iv[1])

    def resampled(self) -> SimpleNamespace:
        """The figures as each resample sees them: a field with resamples is its (B,) array,
        any other its observed value. A claim's comparison, applied to this, is applied to
        every resample at once."""
        return SimpleNamespace(**{f.name: self.boot.get(f.name, getattr(self, f.name)) for f in fields(self)})


    @classmethod
    def dimensional_fields(cls) -> set[str]:
        """The fields declared `dimensional()`."""
        return {f.name for f in fields(cls) if f.metadata.get("dimensional")}


@dataclass(frozen=True)
class KeyFigure:
    """The figure a comparison page draws for every configuration at once: one line per
    configuration over the classes (`per_class`: figures -> (C,) array), or grouped bars of
    scalar figures with their intervals (`bars`: field -> name)."""

    caption: str
    y_title: str
    per_class: Callable | None = None
    bars: tuple = ()                    # ((field, name), ...)


@dataclass(frozen=True)
class Question:
    """A question's row of the table (`questions.py` assembles the rows of `fraglib/rq/*`)."""

    id: str                     # "RQ3": the claims' and the figures' name for it
    position: int               # its place in the book (the table's order)
    chapter: str                # notebooks/<chapter>.py
    caption: str                # its part of the table of contents
    runs: str                   # the kind of study: a key of config.RUN_SETS
    figures: Callable           # Record -> a Figures dataclass
    claims: Callable            # (ours, the paper's) -> list of claims.Claim
    paper: Mapping = field(default_factory=dict)   # (dataset, loss) -> the paper's Figures
    key_figure: KeyFigure | None = None   # drawn on the comparison page (None: no comparison page)
    scope: str = "configuration"          # a page per configuration, or one per profile
    analyses: tuple = ()                  # Analysis computed when the runs are trained
    on_summary: bool = True               # its verdicts are collected on the summary page
    needs_regime: bool = True             # its claims are about networks that memorise (the paper's)
    constants: Mapping = field(default_factory=dict)   # name -> (value, meaning): the method's numbers, for the prose
    notebook: str | None = None           # its chapter's file where not notebooks/<chapter>.py (a question of your own)
    choices: tuple = ()                   # the analysis choices its figures or claims read (multiverse.py):
                                          # `figures(rec, **spec)` takes them, its claims declare theirs

    def __post_init__(self):
        check_choice("run set", self.runs, tuple(RUN_SETS))
        check_choice("scope", self.scope, SCOPES)
        for name in self.choices:
            choice(name)
