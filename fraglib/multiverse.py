"""The analysis multiverse: every claim judged under each choice the paper left open.

Where the paper is loose the book makes one choice (the first value of each `Choice` below, the
book's default: its verdicts are the default specification's). Each question declares the
choices its figures or claims read (`Question.choices`), and each claim the ones it depends on
(`claims.claim(..., choices=)`); a claim is judged at every combination of its choices, for every
seed, from the stored runs (nothing is trained again: a choice that needs more than the runs'
arrays is an analysis computed once per run, like EOS's phase 3 with a fresh head).

Per claim the book then reports (book/methods.md, "The multiverse"):
- the share of specifications in which it holds, per seed and over seeds (a specification's
  verdict over seeds is `verdicts.across_seeds`, the rule of the seed verdict);
- the choices that flip it, named: a choice *matters* for a claim when two specifications that
  differ in that choice alone give different verdicts over seeds;
- a robustness class (`verdicts.ACROSS_CHOICES`): robust (robust over seeds under every
  specification), choice-dependent (naming the choices that matter), not robust under any
  choice (the same verdict over seeds, short of robust, under every specification), failing.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from .verdicts import (BY_NAME, CHOICE_DEPENDENT, DESCRIPTIVE, FAILING, FAILING_ALL, FAILS, NOT_ROBUST, OUTSIDE,
                       ROBUST_ALL, across_seeds)


@dataclass(frozen=True)
class Choice:
    name: str
    values: tuple            # the first: the book's default
    meaning: str             # what is chosen, in one line (the methods page's table)
    why: str = ""            # where the values come from

    @property
    def default(self):
        return self.values[0]


CHOICES = (
    Choice("fe_centre", ("class-mean", "instance-weighted", "none"),
           "Minority Collapse: what the class-mean fe are centred by before their cosines",
           "the mean of the class means (count-invariant); the instance-weighted training mean (Fang et al.'s "
           "global mean); uncentred"),
    Choice("fig6", ("relative", "absolute"),
           "RQ4, Fig. 6: the share thresholds relative to the balanced network, or the paper's absolute 26% / 35%",
           "the paper's numbers are a CIFAR-10 ResNet-32's; relative: 35 / 26 times the balanced network's share"),
    Choice("top_k", ("runner-up", "all others"),
           "RQ3: a prediction is decided by its K largest ce when they (plus the bias) beat the runner-up's full "
           "logit, or beat every other class's K largest ce",
           "the paper's text names the runner-up; the second reading truncates every class at K"),
    Choice("k_of_64", (7, 5, 10), "RQ3: the K the paper settles on, of H = 64 (scaled to the network's H)",
           "7 is the paper's; 5 and 10 around it"),
    Choice("coverage", (0.94, 0.90, 0.97), "RQ3: the share of training predictions a few ce must decide",
           "94% (Fig. 3), 90% (the paper's focal figure), 97% (its balanced network)"),
    Choice("early", ("first quarter", "epochs 1-2"), "Procrustean: what 'early in training' reads",
           "the first quarter of the epochs, or the first two"),
    Choice("eos_phase3", ("fine-tuned", "fresh head"),
           "EOS phase 3: the head fine-tuned from phase 1's, or a fresh head, for EOS and every other sampler",
           "EOS's abstract fine-tunes; the book's earlier version fitted a fresh head"),
    Choice("eos_schedule", ("fixed", "validation-chosen"),
           "EOS phase 3: the head's learning rate and epochs, the book's fixed ones (fine-tuned: 0.01 x 10; fresh: "
           "0.1 x 30) or the point of a grid (lr 0.001 / 0.01 / 0.1 x 5 / 10 / 30 epochs) with the best "
           "validation BAC, per sampler and head",
           "EOS's paper does not report phase 3's schedule; the grid holds both fixed ones"),
    Choice("fp_grouping", ("prediction", "label"),
           "RQ7: a class's false positives are the images predicted as it (the paper's reading) or its own "
           "misclassified images", "an FP of class c is predicted c and is not c; or is c and is predicted not c"),
)
# the model-selection rule: every claim reads the network it picks (runs keep the other rules' epochs)
SELECTION = Choice("selection", ("validation-best", "test-best", "last"),
                   "every claim: the epoch the network is read at, chosen on the validation split, on the test set "
                   "(the paper's protocol, LDAM-DRW's and EOS's), or the last",
                   "within the same selection window; each run keeps the weights of the three epochs")
CHOICES = CHOICES + (SELECTION,)
BY_CHOICE = {c.name: c for c in CHOICES}


def choice(name: str) -> Choice:
    if name not in BY_CHOICE:
        raise ValueError(f"unknown analysis choice {name!r}; valid choices: {', '.join(BY_CHOICE)}")
    return BY_CHOICE[name]


def specifications(names) -> list[dict]:
    """Every combination of the named choices' values, the default first."""
    cs = [choice(n) for n in names]
    return [dict(zip(names, values)) for values in itertools.product(*(c.values for c in cs))]


def label(spec: dict) -> str:
    """"fe_centre=instance-weighted" (the choices at their default left out); "default"."""
    parts = [f"{k}={v}" for k, v in sorted(spec.items()) if v != choice(k).default]
    return ", ".join(parts) or "default"


def is_default(spec: dict) -> bool:
    return all(v == choice(k).default for k, v in spec.items())


def restrict(spec: dict, names) -> tuple:
    """The values of `names` in a specification (a claim's own choices)."""
    return tuple((n, spec.get(n, choice(n).default)) for n in names)


@dataclass(frozen=True)
class Robustness:
    """A claim's reading across the seeds and the specifications of its choices."""

    kind: str                   # a name of verdicts.ACROSS_CHOICES (or descriptive / outside the regime)
    share_holding: float        # specifications whose verdict over seeds counts as holding (robust)
    share_by_seed: tuple        # per seed: specifications in which it holds (that seed's kinds)
    matters: tuple              # the choices that flip it
    by_spec: dict               # spec label -> verdict over seeds
    text: str                   # "robust unless fe_centre = instance-weighted"


def robustness(rows: list[dict], choices: tuple) -> Robustness:
    """One claim's rows (spec, seed, verdict, observed: every seed at every specification of its
    `choices`) -> its robustness across the choices."""
    specs: dict = {}
    for r in rows:
        specs.setdefault(restrict(r["spec"], choices), []).append(r)
    seeds = sorted({r["seed"] for r in rows})
    over = {}
    for key, rs in specs.items():
        rs = sorted(rs, key=lambda r: r["seed"])
        over[key] = across_seeds([r["verdict"] for r in rs], [r["observed"] for r in rs])
    by_spec = {label(dict(k)): v for k, v in over.items()}
    marked = [restrict(r["spec"], choices) for r in rows if r.get("default")]
    default_key = marked[0] if marked else restrict({}, choices)
    by_seed = tuple(sum(BY_NAME[r["verdict"]].counts_as_holding for r in rows if r["seed"] == s) / len(specs)
                    for s in seeds)
    holding = sum(BY_NAME[v].counts_as_holding for v in over.values()) / len(over)
    kinds = set(over.values())
    default = over[default_key]
    n = f"{len(over)} specifications" if len(over) > 1 else "its one specification (no open choice)"
    if kinds <= {DESCRIPTIVE, OUTSIDE}:
        return Robustness(default, holding, by_seed, (), by_spec, "does not vote")
    if len(kinds) == 1:
        kind = (ROBUST_ALL if BY_NAME[default].counts_as_holding else
                FAILING_ALL if default in (FAILING, FAILS) else NOT_ROBUST)
        return Robustness(kind, holding, by_seed, (), by_spec, f"{default} under {n}")
    matters = tuple(c for c in choices if _flips(over, choices, c))
    unless = []      # which values move it from the default's verdict, each choice alone (the others at default)
    for c in matters:
        moved = [v for v in choice(c).values if v != dict(default_key)[c]
                 and over.get(restrict({**dict(default_key), c: v}, choices)) not in (None, default)]
        unless.append(f"{c} = {' or '.join(map(str, moved))}" if moved else f"{c} (only combined with another choice)")
    return Robustness(CHOICE_DEPENDENT, holding, by_seed, matters, by_spec,
                      f"{default} by default, not when {'; '.join(unless)}")


def _flips(over: dict, choices: tuple, name: str) -> bool:
    """Whether two specifications differing in `name` alone have different verdicts over seeds."""
    i = choices.index(name)
    groups = {}
    for key, v in over.items():
        rest = key[:i] + key[i + 1:]
        groups.setdefault(rest, set()).add(v)
    return any(len(vs) > 1 for vs in groups.values())
