"""Extension · Minority Collapse (Fang et al.'s Layer-Peeled Model): along a ladder of step
imbalance ratios, do the minority classes' classifier rows (and class-mean fe) turn towards each other?
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import measures as M
from ..claims import Claim, claim, fmt
from ..config import COLLAPSE_RATIOS
from ..figures import Figures, Question, Record


@dataclass(frozen=True)
class Collapse(Figures):
    """Minority Collapse (Fang et al.'s Layer-Peeled Model): under step imbalance (the first C/2
    classes keep n_max images, the last C/2 keep n_max / R), as R grows the minority classes'
    classifier rows turn towards each other. One cross-entropy run per rung of the ladder of
    ratios (R = 1: the balanced reference). W is the head's raw weight (LPM's measure), shown raw
    and centred by its mean row; class-mean fe are centred by the unweighted mean of the class
    means (count-invariant: the global training mean when balanced, and it does not move towards
    the majority as the ratio grows, as the instance-weighted global mean does, which made every
    minority mean carry the offset minority - majority: a "collapse" of -0.06 -> 0.53 where this
    centre gives -0.06 -> 0.00; that centre is shown, not voting, as are uncentred means). The rule
    has a size: the slope of the cosine against log ratio, and how far the last rung went from the
    simplex value -1/(k-1) (k rows spread as far apart as they can) towards collapse (1).
    Cosines of trained weights and of class means: one network per rung, no resampling."""

    ratio_max: int | None = None
    rungs: int | None = None                    # runs on the ladder, ratio 1 included
    w_minority_rise: float | None = None        # centred W: minority's mean pairwise cosine, last rung - first
    w_majority_rise: float | None = None
    w_raw_minority_rise: float | None = None    # raw W (LPM's measure)
    w_raw_majority_rise: float | None = None
    fe_minority_rise: float | None = None       # class-mean fe centred by the mean of the class means
    fe_majority_rise: float | None = None
    fe_weighted_minority_rise: float | None = None   # ... by the instance-weighted global mean (not voting)
    fe_weighted_majority_rise: float | None = None
    fe_raw_minority_rise: float | None = None   # uncentred class-mean fe (the shared component)
    fe_raw_majority_rise: float | None = None
    w_minority_slope: float | None = None       # centred W, minority: cosine per unit of log ratio
    w_majority_slope: float | None = None
    fe_minority_slope: float | None = None
    fe_majority_slope: float | None = None
    simplex: float | None = None                # -1/(k-1) among the k minority rows
    w_minority_last: float | None = None        # the last rung's cosine
    fe_minority_last: float | None = None
    w_minority_way: float | None = None         # share of the way from the simplex value to collapse the ladder went
    fe_minority_way: float | None = None
    ratios: tuple = ()
    ladder: dict = field(default_factory=dict, repr=False, compare=False)   # "w:minority" -> (rungs,)


LADDER_SERIES = {"w": "W rows, centred", "w_raw": "W rows, raw (LPM)", "fe": "class-mean fe, centred by the class means",
                 "fe_weighted": "class-mean fe, centred by the weighted mean", "fe_raw": "class-mean fe, raw"}
GROUPS = ("minority", "majority", "between")
CENTRES = {"class-mean": "centred by the mean of the class means", "instance-weighted":
           "centred by the instance-weighted training mean", "none": "uncentred"}


def slope(ratios, values) -> float:
    """The least-squares slope of `values` against log(ratio) (per unit of natural log)."""
    x, y = np.log(np.asarray(ratios, float)), np.asarray(values, float)
    return float(np.polyfit(x, y, 1)[0]) if len(x) > 1 else float("nan")


def _centre(choice: str, means, fe_train):
    """The fe centre the multiverse's `fe_centre` names: the mean of the class means (default),
    the instance-weighted training mean, or none."""
    return {"class-mean": lambda: np.nanmean(means, axis=0),
            "instance-weighted": lambda: np.asarray(fe_train, np.float64).mean(0), "none": lambda: None}[choice]()


def compute(rec: Record, fe_centre: str = "class-mean") -> Collapse:
    by_ratio = sorted(rec.embeddings, key=lambda name: rec.configs[name].imbalance_ratio)
    ratios = tuple(rec.configs[name].imbalance_ratio for name in by_ratio)
    C = rec.embeddings[by_ratio[0]].num_classes
    major, minor = M.halves(C)
    ladder = {f"{series}:{group}": [] for series in LADDER_SERIES for group in GROUPS}
    for name in by_ratio:
        e = rec.embeddings[name]
        means = M.class_means(e.fe_train, e.y_train, C)
        for series, matrix, centre in (("w", e.weight, e.weight.mean(0)), ("w_raw", e.weight, None),
                                       ("fe", means, _centre(fe_centre, means, e.fe_train)),
                                       ("fe_weighted", means, np.asarray(e.fe_train, np.float64).mean(0)),
                                       ("fe_raw", means, None)):
            for group, value in M.minority_collapse(matrix, minor, major, centre).items():
                if group != "excess":
                    ladder[f"{series}:{group}"].append(value)
    ladder = {k: np.array(v) for k, v in ladder.items()}
    simplex = -1.0 / (len(minor) - 1)

    def rise(key):
        return float(ladder[key][-1] - ladder[key][0])

    def way(key):   # from the first rung to the last, as a share of the way from the simplex value to collapse
        return float((ladder[key][-1] - ladder[key][0]) / (1 - simplex))
    return Collapse(ratio_max=int(ratios[-1]), rungs=len(ratios), ratios=ratios, ladder=ladder, simplex=simplex,
                    **{f"{series}_{group}_rise": rise(f"{series}:{group}") for series in LADDER_SERIES
                       for group in ("minority", "majority")},
                    **{f"{series}_{group}_slope": slope(ratios, ladder[f"{series}:{group}"]) for series in ("w", "fe")
                       for group in ("minority", "majority")},
                    w_minority_last=float(ladder["w:minority"][-1]), fe_minority_last=float(ladder["fe:minority"][-1]),
                    w_minority_way=way("w:minority"), fe_minority_way=way("fe:minority"))


def _ladder(o: Collapse, key: str) -> str:
    return " → ".join(fmt(v) for v in o.ladder[key])


def _size(o: Collapse, series: str) -> str:
    """The rule's size: slope per unit of log ratio, and the share of the way to collapse gone."""
    return (f"{_ladder(o, series + ':minority')} (slope {fmt(getattr(o, series + '_minority_slope'))} per log-ratio "
            f"unit; {fmt(100 * getattr(o, series + '_minority_way'), '.0f')}% of the way from the simplex value "
            f"{fmt(o.simplex)} to collapse)")


def check(o: Collapse, p: Collapse | None = None) -> list[Claim]:
    """Minority Collapse (Fang et al.; not a claim of the fragility paper, which has no figure),
    read along the whole ladder of ratios, not at one end."""
    rs = " → ".join(f"{r:g}" for r in o.ratios)
    return [
        claim("COLLAPSE", f"The minority classes' classifier rows turn towards each other at every step up the "
                          f"ladder (mean pairwise cosine of centred W; ratios {rs})", "rises (Fang et al.)",
              _size(o, "w"), o, lambda f: M.rises(f.ladder["w:minority"])),
        claim("COLLAPSE", "... while the majority classes' rows do not (the minority's rise, first rung to last, "
                          "exceeds the majority's)", "minority only",
              f"{fmt(o.w_minority_rise)} vs {fmt(o.w_majority_rise)}", o,
              lambda f: f.w_minority_rise > max(f.w_majority_rise, 0)),
        claim("COLLAPSE", "... and so in LPM's own measure, the raw W rows (every step up the ladder)",
              "rises (LPM's code)", _ladder(o, "w_raw:minority"), o, lambda f: M.rises(f.ladder["w_raw:minority"])),
        claim("COLLAPSE", f"The minority classes' class-mean fe turn towards each other too ({CENTRES[o.chosen('fe_centre')]}; "
                          f"every step up the ladder)", "–", _size(o, "fe"), o,
              lambda f: M.rises(f.ladder["fe:minority"]), choices=("fe_centre",)),
        claim("COLLAPSE", "... while the majority classes' class-mean fe do not (the minority's rise exceeds the "
                          "majority's)", "–", f"{fmt(o.fe_minority_rise)} vs {fmt(o.fe_majority_rise)}", o,
              lambda f: f.fe_minority_rise > max(f.fe_majority_rise, 0), choices=("fe_centre",)),
        claim("COLLAPSE", "... centred by the instance-weighted global mean instead, which moves towards the "
                          "majority as the ratio grows (shown, not voting)", "–", _ladder(o, "fe_weighted:minority"), o,
              lambda f: M.rises(f.ladder["fe_weighted:minority"]), descriptive=True),
        claim("COLLAPSE", "... uncentred, their cosines measure the positive component all post-ReLU means share "
                          "(shown, not voting)", "–", _ladder(o, "fe_raw:minority"), o,
              lambda f: M.rises(f.ladder["fe_raw:minority"]), descriptive=True),
    ]


QUESTION = Question("COLLAPSE", 9, "minority_collapse", "Extension · Minority Collapse", "ladder", compute, check,
                    scope="profile", choices=("fe_centre",),
                    constants={f"ladder_{p}": (", ".join(f"{r:g}" for r in rs), f"the {p} profile's ladder of step ratios")
                               for p, rs in COLLAPSE_RATIOS.items()})
