"""The verdict kinds, in one table, and the rules every page applies to them.

A check of a claim ends in one verdict kind (`KINDS`). What a kind means, whether it votes,
whether it counts as holding in a seed, its colour on a chart and its phrase in a tally are
fields of its row here, and nothing else in fraglib spells them out: the claims tables, the
chapter headline, the comparison pages, the summary, its chart and the ledger all read this
table and the rules below (book/methods.md, "How sure a verdict is").

The rules:
- `verdict`: one check of one seed, from the comparison on our figures (direction, and a size
  where the paper states one) and the share of resamples in which it holds (None: no
  resampling noise, one network);
- `stability`: in how many seeds a claim holds (kinds with `counts_as_holding`), the one rule
  the chapter pages, the comparison pages, the summary and the ledger share.
"""
from __future__ import annotations

from dataclasses import dataclass

from .bootstrap import LEVEL

AGREE = 1 - (1 - LEVEL) / 2     # share of resamples in which a claim must hold to hold beyond noise (0.975)


@dataclass(frozen=True)
class Kind:
    name: str                   # as printed in every table
    votes: bool                 # counted among the checks that vote
    counts_as_holding: bool     # a seed in which the claim holds (the stability rule)
    agrees: bool                # the comparison holds on our figures (at all)
    colour: str                 # on every chart (each kind its own)
    phrase: str                 # in a tally: "3 <phrase>"
    definition: str             # one sentence, on the summary page and the methods page


KINDS = (
    Kind("holds", True, True, True, "#2ca02c", "hold beyond the bootstrap's noise",
         f"the comparison holds on our figures and in at least {100 * AGREE:g}% of the bootstrap resamples of "
         f"the images"),
    Kind("holds (within noise)", True, False, True, "#98df8a", "hold only within it",
         "it holds on the images drawn, not that robustly: another draw of the same images could reverse it"),
    Kind("holds (one network)", True, True, True, "#1f77b4",
         "hold for this one network (no resampling noise: only seeds vary it)",
         "it compares quantities with no resampling noise (trained weights, a training history), so only "
         "seeds vary it; never read as beyond noise"),
    Kind("direction only", True, False, False, "#ff7f0e",
         "hold in direction only (the paper's stated size is not reached)",
         "the sign agrees, the size the paper states is not reached"),
    Kind("about sample size", True, False, False, "#9467bd",
         "are about sample size (they hold without the size-matched control, not with it)",
         "it holds without its size-matched control, not with it: a statement about sample size, not diversity"),
    Kind("does not hold", True, False, False, "#d62728", "do not hold", "the sign disagrees"),
    Kind("descriptive", False, False, False, "#c7c7c7", "are descriptive rows, not counted",
         "a raw count or distance whose size-matched control is the check: shown, not voting"),
    Kind("outside the regime", False, False, False, "#7f7f7f", "come from runs outside the paper's regime",
         "a run did not memorise its training set, so the check tests nothing of the paper"),
)
# The verdict of a row over seeds (each seed a network trained anew on another draw of the images):
# the row's verdict wherever the book counts more than one seed.
ACROSS_SEEDS = (
    Kind("robust", True, True, True, "#006d2c", "are robust (hold in every seed)",
         "it holds (beyond noise, or for each seed's one network) in every seed"),
    Kind("direction-stable", True, False, True, "#74c476",
         "are direction-stable (the paper's direction in every seed, not every time beyond noise or at its size)",
         "the comparison goes the paper's way in every seed, but not every time beyond noise or at the size the "
         "paper states"),
    Kind("mixed", True, False, False, "#bcbd22", "are mixed (the paper's direction in some seeds only)",
         "the comparison goes the paper's way in some seeds and not in others"),
    Kind("failing", True, False, False, "#a50f15", "are failing (the paper's direction in no seed)",
         "the comparison goes against the paper in every seed"),
)
# The robustness of a row across the analysis choices the paper left open (multiverse.py): its
# verdict over seeds under every specification of the choices it depends on.
ACROSS_CHOICES = (
    Kind("robust to the choices", True, True, True, "#00441b",
         "are robust to the choices (hold under every specification)",
         "it holds (over the seeds) under every specification of the analysis choices it depends on"),
    Kind("choice-dependent", True, False, True, "#fdae61",
         "are choice-dependent (their verdict turns on an analysis choice, named)",
         "its verdict over the seeds changes with an analysis choice the paper left open; the choice is named"),
    Kind("short of robust under every choice", True, False, True, "#a6d96a",
         "are short of robust under every choice (one verdict, not robust, whatever the choices)",
         "the same verdict over the seeds under every specification, short of holding in every seed"),
    Kind("failing under every choice", True, False, False, "#67000d",
         "fail under every choice (against the paper in every seed, whatever the choices)",
         "against the paper in every seed under every specification"),
)
BY_NAME = {k.name: k for k in KINDS + ACROSS_SEEDS + ACROSS_CHOICES}
VERDICTS = tuple(k.name for k in KINDS)
HOLDS, NOISE, ONE_NET, DIRECTION, SIZE, FAILS, DESCRIPTIVE, OUTSIDE = VERDICTS
HOLDING = tuple(k.name for k in KINDS if k.agrees)            # holds on our figures, at all
COLOURS = tuple(k.colour for k in KINDS)
ALL = KINDS + ACROSS_SEEDS + ACROSS_CHOICES                   # every kind a table or chart may show


def kind(name: str) -> Kind:
    return BY_NAME[name]


def verdict(direction: bool, size_ok: bool | None = None, support: float | None = None) -> str:
    """One check's verdict from the comparison on our figures (direction, size) and the share of
    resamples in which the whole comparison holds (None: no resampled figure: one network)."""
    if not direction:
        return FAILS
    if size_ok is False:
        return DIRECTION
    if support is None:
        return ONE_NET
    return HOLDS if support >= AGREE else NOISE


def counts(verdicts) -> dict:
    """How many of each kind (a seed's, then over seeds), in the table's order."""
    verdicts = list(verdicts)
    return {k.name: verdicts.count(k.name) for k in ALL}


def tally(k: dict) -> str:
    """"3 hold beyond the bootstrap's noise, 1 do not hold" from counts (the voting kinds)."""
    return ", ".join(f"{k[x.name]} {x.phrase}" for x in ALL if x.votes and k.get(x.name))


def held_in(verdicts: list[str]) -> int:
    """In how many seeds a claim holds (the kinds that count as holding)."""
    return sum(BY_NAME[v].counts_as_holding for v in verdicts)


def stability(verdicts: list[str]) -> str:
    """The one rule for "holds in N seeds": "3 of 3 seeds" (beyond noise, or for each seed's one
    network); a row that never votes says why."""
    if all(v == DESCRIPTIVE for v in verdicts):
        return DESCRIPTIVE
    if all(v == OUTSIDE for v in verdicts):
        return OUTSIDE
    return f"{held_in(verdicts)} of {len(verdicts)} seeds"


ROBUST, DIRECTION_STABLE, MIXED, FAILING = (k.name for k in ACROSS_SEEDS)
ROBUST_ALL, CHOICE_DEPENDENT, NOT_ROBUST, FAILING_ALL = (k.name for k in ACROSS_CHOICES)
RIGHT_WAY = (HOLDS, NOISE, ONE_NET, DIRECTION)   # what the comparison itself said, when it went the paper's way


def across_seeds(verdicts: list[str], observed: list[str]) -> str:
    """The row's verdict over seeds, from each seed's verdict and what its comparison itself said
    (`Claim.observed`: a descriptive or size-controlled row keeps it): robust, direction-stable,
    mixed or failing; a row that never votes keeps its kind. One seed: that seed's verdict."""
    if len(verdicts) == 1:
        return verdicts[0]
    read = [(v, o) for v, o in zip(verdicts, observed) if v != OUTSIDE]   # a seed outside the regime tests nothing
    if not read:
        return OUTSIDE
    if all(v == DESCRIPTIVE for v, _ in read):
        return DESCRIPTIVE
    if all(BY_NAME[v].counts_as_holding for v, _ in read):
        return ROBUST
    right = sum(o in RIGHT_WAY for _, o in read)
    return DIRECTION_STABLE if right == len(read) else MIXED if right else FAILING


MULTIPLICITY = ("The checks are many and correlated (one balanced run and one test set per configuration, a raw "
                "row and its size-matched control), so the book counts no single seed's \"holds\" as an independent "
                "finding and makes no per-test correction: the primary evidence is stability, a row's verdict over "
                "the seeds (robust only when it holds in every seed, each a network trained anew on another draw "
                "of the images).")


def legend() -> list[dict]:
    """The table as rows (kind, votes, counts as holding, definition), for the summary page."""
    return [{"verdict": k.name, "of": "one seed" if k in KINDS else "the seeds" if k in ACROSS_SEEDS else
             "the seeds and the analysis choices", "votes": "yes" if k.votes else "no",
             "counts as holding": "yes" if k.counts_as_holding else "no", "meaning": k.definition}
            for k in ALL]


# -- the regime: a check of a run that did not memorise reads OUTSIDE ------------------------------
REGIME_MIN_TRAIN_ACC = 0.94   # clean training accuracy every class must reach (the paper's lowest: 94.4%)
REGIME_SMALL_CLASS = 20       # ... except that a class of fewer training images may miss one image
REGIME_RULE = (f"clean training accuracy of at least {100 * REGIME_MIN_TRAIN_ACC:.0f}% in every class, one "
               f"missed image allowed in a class of fewer than {REGIME_SMALL_CLASS}")


@dataclass(frozen=True)
class RegimeCheck:
    """Whether one run memorised its training set in every class (book/methods.md, "The regime"):
    clean training accuracy >= REGIME_MIN_TRAIN_ACC in every class, where a class of fewer than
    REGIME_SMALL_CLASS training images may miss one image (with 9-14 images one miss is 7-11 points)."""

    in_regime: bool
    worst_class: int            # the class furthest below the rule (else the lowest accuracy)
    worst_train_acc: float      # its clean training accuracy
    worst_misses: int = 0       # how many of its training images the network gets wrong

    @classmethod
    def of(cls, metrics: dict) -> "RegimeCheck":
        acc = metrics["train_class_acc"]
        counts = metrics.get("train_counts") or [None] * len(acc)
        misses = [round((1 - a) * n) if n else None for a, n in zip(acc, counts)]
        ok = [a >= REGIME_MIN_TRAIN_ACC or (n is not None and n < REGIME_SMALL_CLASS and m <= 1)
              for a, n, m in zip(acc, counts, misses)]
        failing = [c for c in range(len(acc)) if not ok[c]]
        worst = min(failing or range(len(acc)), key=acc.__getitem__)
        return cls(not failing, worst, acc[worst], misses[worst] or 0)

    def text(self) -> str:
        state = "in the regime" if self.in_regime else "OUTSIDE the paper's regime"
        return (f"{state}: lowest clean training accuracy {100 * self.worst_train_acc:.1f}% (class "
                f"{self.worst_class}; needed: {100 * REGIME_MIN_TRAIN_ACC:.0f}% in every class, one miss "
                f"allowed in a class of fewer than {REGIME_SMALL_CLASS} images)")
