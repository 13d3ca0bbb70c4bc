"""A claim of the paper, checked: the machinery every question module's claims use.

A question module's `claims(ours, paper)` compares its figures with the paper's, field by field
under the same names, and returns one `Claim` per statement of the paper: what it says, the
paper's figure, ours (with its interval), and a verdict. A claim is a comparison written once as
a function of the figures (`direction`, and `size` where the paper states one, e.g. "at least
2x"); it is applied to our observed figures and to every bootstrap resample of them
(`Figures.resampled`), which says how sure the verdict is. The verdict kinds and the rules that
read them (per seed, across seeds) are `verdicts.py`'s.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from .bootstrap import interval
from .figures import Figures
from .verdicts import (DESCRIPTIVE, DIRECTION, FAILS, HOLDING, HOLDS, NOISE, OUTSIDE, REGIME_RULE, SIZE, counts, tally,
                       verdict)


@dataclass
class Claim:
    question: str                  # the question's id ("RQ3")
    text: str
    paper: str
    ours: str
    verdict: str
    support: float | None = None   # share of resamples (or control draws) in which it holds; None: one network
    observed: str = ""             # the verdict the comparison itself gives (a descriptive row's too)
    choices: tuple = ()            # the analysis choices it depends on (multiverse.py)

    def row(self) -> dict:
        held = "one network" if self.support is None else f"{100 * self.support:.1f}%"
        return {"question": self.question, "claim": self.text, "paper": self.paper, "ours": self.ours,
                "resamples holding": held, "verdict": self.verdict}


def judged(figs: Figures, direction: Callable, size: Callable | None = None) -> tuple[str, float | None]:
    """Apply a claim's comparison to our figures and to every resample of them: (verdict, support)."""
    d, s = bool(direction(figs)), (None if size is None else bool(size(figs)))
    r = figs.resampled()
    both = np.asarray(direction(r)) & (np.asarray(size(r)) if size is not None else True)
    support = None if both.ndim == 0 else float(both.mean())
    return verdict(d, s, support), support


def fmt(x, spec=".2f") -> str:
    """A figure for a table: "–" where there is none (the paper reports nothing)."""
    if x is None or (isinstance(x, (float, np.floating)) and np.isnan(x)):
        return "–"
    return format(x, spec)


def with_interval(figs: Figures, what, spec=".2f", unit="") -> str:
    """A figure (a field name, or a function of the figures) and, where it varies over the
    resamples, its 95% interval: "57.30 [54.10, 60.20]" (exact for a small class's proportion). An
    observed figure outside its resamples' interval (a count of distinct features is biased low in a
    resample) is marked, never hidden by widening the interval."""
    get = what if callable(what) else (lambda f: getattr(f, what))
    value = get(figs)
    text = f"{fmt(value, 'd' if isinstance(value, (int, np.integer)) else spec)}{unit}"
    if isinstance(what, str) and figs.interval(what) is not None and np.ndim(figs.interval(what)[0]) == 0:
        lo, hi = figs.interval(what)
    else:
        samples = np.asarray(get(figs.resampled()), dtype=float)
        if samples.ndim != 1 or not np.isfinite(samples).any():
            return text
        lo, hi = (float(v) for v in interval(samples))
    text += f" [{fmt(float(lo), spec)}, {fmt(float(hi), spec)}]"
    if value is not None and np.isfinite(value) and not lo <= float(value) <= hi:
        text += OUTSIDE_MARK          # the interval is the resamples', not widened to hold the figure
    return text


OUTSIDE_MARK = " (observed outside its resamples' interval)"


def pv(p: Figures, name: str, spec=".2f", unit="") -> str:
    """One of the paper's figures, with its note where the paper's statistic is not ours."""
    value = getattr(p, name)
    text = f"{fmt(value, 'd' if isinstance(value, (int, np.integer)) else spec)}{unit}"
    return text + (f" [{p.notes[name]}]" if value is not None and name in p.notes else "")


def vs(a, b, spec=".2f", unit="") -> str:
    return f"{fmt(a, spec)}{unit} vs {fmt(b, spec)}{unit}"


def ours_vs(o: Figures, a, b, spec=".2f", unit="") -> str:
    """Two of our figures (names or functions), each with its own interval, and the difference the
    claim judges with *its* interval: the percentiles of (a - b) over the very resamples (or control
    draws) the verdict reads, so the interval shown is the judged one ("holds" beyond noise exactly
    when it excludes 0 on the claim's side, up to ties). A one-network comparison has no interval."""
    get_a, get_b = ((w if callable(w) else (lambda f, w=w: getattr(f, w))) for w in (a, b))
    both = f"{with_interval(o, a, spec, unit)} vs {with_interval(o, b, spec, unit)}"
    if get_a(o) is None or get_b(o) is None:
        return both

    def difference(f):   # observed, or one per resample
        return np.subtract(get_a(f), get_b(f), dtype=float)
    return f"{both}; difference {with_interval(o, difference, '+' + spec.lstrip('+'), unit)}"


def claim(question: str, text: str, paper: str, ours: str, o: Figures, direction: Callable,
          size: Callable | None = None, descriptive: bool = False, uncontrolled: Claim | None = None,
          choices: tuple = ()) -> Claim:
    """One check: the comparison (`direction`, and `size` where the paper states one) judged on
    our figures and their resamples. A `descriptive` row is shown and does not vote (its control
    does); a controlled claim that fails where its `uncontrolled` twin holds is about sample size.
    `choices`: the analysis choices (multiverse.CHOICES) its figures or comparison depend on; the
    multiverse judges it at every combination of them."""
    v, support = judged(o, direction, size)
    shown = DESCRIPTIVE if descriptive else v
    if uncontrolled is not None and v in (FAILS, DIRECTION) and uncontrolled.observed in HOLDING:
        shown = SIZE
    return Claim(question, text, paper, ours, shown, support, observed=v, choices=tuple(choices))


def judge(claims: list[Claim], in_regime: bool) -> list[Claim]:
    """Where a run is outside the paper's regime every verdict reads OUTSIDE (ours still shown)."""
    if not in_regime:
        for c in claims:
            c.verdict = OUTSIDE
    return claims


# -- presentation --------------------------------------------------------------------------------
def table(claim_list):
    """The claims as a table (one row each) for a chapter's verdict cell, every claim in full."""
    import pandas as pd
    return pd.DataFrame([c.row() for c in claim_list]).style.hide(axis="index")


def sentence(claim_list) -> str:
    """A one-paragraph markdown verdict, computed from the claims; every clause is true of every
    row it counts."""
    k = counts(c.verdict for c in claim_list)
    voting = [c for c in claim_list if c.verdict not in (DESCRIPTIVE, OUTSIDE)]
    if claim_list and k[OUTSIDE] == len(claim_list):
        return (f"**These runs are outside the paper's regime** ({REGIME_RULE}): the paper's claims are about "
                f"networks that memorise their training set, so these checks do not test them. The figures are "
                f"shown for reference only.")
    n = len(voting)
    if n and all(c.verdict == HOLDS for c in voting):
        head = f"**The claims hold on this run**: all {n} checks hold beyond the bootstrap's noise."
    elif n and all(c.verdict in HOLDING for c in voting):
        head = f"**The claims hold on this run, not all of them beyond noise**: of {n} checks, {tally(k)}."
    else:
        head = f"**The claims do not all hold on this run**: of {n} checks, {tally(k)}."
    if k[DESCRIPTIVE]:
        head += (f" {k[DESCRIPTIVE]} descriptive row(s) (raw counts or distances whose size-matched control "
                 f"is the check) are shown and not counted.")
    lists = ((NOISE, "Within noise (another draw of the same images could reverse it)",
              lambda c: f"*{c.text}* (holding in {100 * c.support:.0f}% of resamples)"),
             (SIZE, "About sample size", lambda c: f"*{c.text}* (ours {c.ours})"),
             (FAILS, "Not holding", lambda c: f"*{c.text}* (ours {c.ours}, paper {c.paper})"))
    for v, title, show in lists:
        rows = [c for c in voting if c.verdict == v]
        if rows:
            head += f" {title}: " + "; ".join(show(c) for c in rows) + "."
    return head
