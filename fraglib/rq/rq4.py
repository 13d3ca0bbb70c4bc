"""RQ4 · Diversity of ce (paper Figs. 4-6, Tables 3-4): are the minority classes' ce larger, and
does one ce carry more of the logit after imbalanced training?
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import measures as M
from ..claims import Claim, claim, pv, with_interval
from ..figures import TOP_N, Array, Figures, KeyFigure, Question, Record, arr, dimensional, majority_minority

RATIO_SIZE = 2       # Tables 3-4: "at least 2x" (Table 4: 2-4x)
SHARE_LEVEL = 0.35   # Fig. 6: "5 classes have ce that contribute more than 35% to the predicted logit"
SHARE_CLASSES = 5    # ... five classes
BALANCED_SHARE = 26  # Fig. 6: no class above 26% in the balanced network (%)
RELATIVE_SHARE = 100 * SHARE_LEVEL / BALANCED_SHARE   # Fig. 6 relative to the balanced network: 35 / 26


def _others_over_majority(per_class, majority: int):
    """(B, C) -> (B,): the mean of the other classes over the majority (Tables 3-4, resampled)."""
    others = np.nanmean(np.delete(per_class, majority, axis=1), axis=1)
    return others / per_class[:, majority]


@dataclass(frozen=True)
class RQ4(Figures):
    """Figs. 4-6, Tables 3-4: magnitudes of the class-mean ce."""

    largest_ce_majority: float | None = dimensional()   # Table 3: the majority's largest class-mean ce
    largest_ce_others: float | None = dimensional()     # ... the mean of the other classes' largest
    largest_ce_ratio: float | None = None      # others / majority (imbalanced run)
    bal_largest_ce_ratio: float | None = None  # the same ratio in the balanced run
    top_ce_share_majority: float | None = None  # Table 4: largest ce / predicted logit, majority
    top_ce_share_others: float | None = None
    top_ce_share_ratio: float | None = None
    top_share_max: float | None = None         # Fig. 6: the largest class-mean share of one ce in the logit (%)
    bal_top_share_max: float | None = None     # ... in the balanced run
    n_share_above35: int | None = None         # imbalanced classes whose largest ce is > 35% of the logit
    class_mean_ce_top: Array = arr()          # (C, 10) imbalanced run, sorted
    bal_class_mean_ce_top: Array = arr()
    top_ce_share: Array = arr()               # (C, 7) imbalanced run
    bal_top_ce_share: Array = arr()


def _resampled_mean_ce(emb, rs):
    """(B, C, H): each resample's class-mean ce (class-mean fe' times W')."""
    return rs.means(emb.fe_eff_train, key="fe_eff") * np.asarray(emb.weight_eff, np.float64)[None]


def compute(rec: Record, fig6: str = "relative") -> RQ4:
    eb, ei = rec.pair()
    rs = rec.resamples
    maj, _ = majority_minority(ei.num_classes)
    shares = {}
    for name, e in (("bal", eb), ("imb", ei)):
        shares[name] = M.instance_top_ce_share(e.fe_eff_train, e.weight_eff, e.bias)
    ce_b = M.class_mean_ce(eb.fe_eff_train, eb.weight_eff, eb.y_train, eb.num_classes)
    ce_i = M.class_mean_ce(ei.fe_eff_train, ei.weight_eff, ei.y_train, ei.num_classes)
    share_b = M.class_means(shares["bal"], eb.y_train, eb.num_classes)
    share_i = M.class_means(shares["imb"], ei.y_train, ei.num_classes)
    t3, t3b = M.largest_class_ce(ce_i, maj), M.largest_class_ce(ce_b, maj)
    t4 = M.majority_vs_others(share_i[:, 0], maj)
    largest_i = _resampled_mean_ce(ei, rs.train_imb).max(2)
    share0 = rs.train_imb.means(shares["imb"][:, 0])
    share0_b = rs.train_bal.means(shares["bal"][:, 0])
    boot = {"largest_ce_ratio": _others_over_majority(largest_i, maj),
            "bal_largest_ce_ratio": _others_over_majority(_resampled_mean_ce(eb, rs.train_bal).max(2), maj),
            "largest_ce_majority": largest_i[:, maj], "top_ce_share_ratio": _others_over_majority(share0, maj),
            "top_share_max": 100 * np.nanmax(share0, axis=1), "bal_top_share_max": 100 * np.nanmax(share0_b, axis=1),
            "n_share_above35": (share0 > SHARE_LEVEL).sum(1)}
    return RQ4(largest_ce_majority=t3["majority"], largest_ce_others=t3["others"],
               largest_ce_ratio=t3["ratio"], bal_largest_ce_ratio=t3b["ratio"],
               top_ce_share_majority=t4["majority"], top_ce_share_others=t4["others"],
               top_ce_share_ratio=t4["ratio"], top_share_max=100 * float(np.nanmax(share_i[:, 0])),
               bal_top_share_max=100 * float(np.nanmax(share_b[:, 0])),
               n_share_above35=int((share_i[:, 0] > SHARE_LEVEL).sum()),
               class_mean_ce_top=M.top_values(ce_i, TOP_N)[0], bal_class_mean_ce_top=M.top_values(ce_b, TOP_N)[0],
               top_ce_share=share_i, bal_top_ce_share=share_b, boot=boot)


def check(o: RQ4, p: RQ4) -> list[Claim]:
    share = 100 * SHARE_LEVEL
    return [
        claim("RQ4", f"The largest class-mean ce of the other classes is at least {RATIO_SIZE}x the majority's "
                     f"(Table 3)", f"x{pv(p, 'largest_ce_ratio')}", f"x{with_interval(o, 'largest_ce_ratio')}", o,
              lambda f: f.largest_ce_ratio > 1, lambda f: f.largest_ce_ratio >= RATIO_SIZE),
        claim("RQ4", "Imbalance widens that gap (ratio above the balanced model's)", "x≈1 → x>2",
              f"x{with_interval(o, 'bal_largest_ce_ratio')} → x{with_interval(o, 'largest_ce_ratio')}", o,
              lambda f: f.largest_ce_ratio > f.bal_largest_ce_ratio),
        claim("RQ4", "The single largest ce is a larger share of the logit for the other classes than for "
                     f"the majority (Table 4: {RATIO_SIZE}-4x)", f"x{pv(p, 'top_ce_share_ratio')}",
              f"x{with_interval(o, 'top_ce_share_ratio')}", o,
              lambda f: f.top_ce_share_ratio > 1, lambda f: f.top_ce_share_ratio >= RATIO_SIZE),
        _fig6(o, share),
        claim("RQ4", f"... in the paper's absolute form (no class above {BALANCED_SHARE}% balanced; five classes "
                     f"above {share:g}% imbalanced: shares of a CIFAR-10 ResNet-32, which do not travel to another "
                     f"network; shown, not voting)",
              f"≤ {BALANCED_SHARE}% → {SHARE_CLASSES} classes > {share:g}%",
              f"{with_interval(o, 'bal_top_share_max', '.0f')}% → {with_interval(o, 'top_share_max', '.0f')}% "
              f"({o.n_share_above35} classes > {share:g}%)", o, lambda f: f.top_share_max > f.bal_top_share_max,
              lambda f: (f.bal_top_share_max <= BALANCED_SHARE) & (f.n_share_above35 >= SHARE_CLASSES),
              descriptive=True),
    ]


def _fig6(o: RQ4, share: float) -> Claim:
    """Fig. 6's voting claim, in the form the multiverse's `fig6` choice names: relative to the
    balanced network (the default: the paper's shares are a CIFAR-10 ResNet-32's), or the paper's
    absolute thresholds."""
    if o.chosen("fig6") == "absolute":
        return claim("RQ4", f"One ce carries a larger share of the logit after imbalanced training (Fig. 6, the "
                            f"paper's absolute form: no class above {BALANCED_SHARE}% balanced, {SHARE_CLASSES} "
                            f"classes above {share:g}% imbalanced)", f"≤ {BALANCED_SHARE}% → {SHARE_CLASSES} classes > {share:g}%",
                     f"{with_interval(o, 'bal_top_share_max', '.0f')}% → {with_interval(o, 'top_share_max', '.0f')}% "
                     f"({o.n_share_above35} classes > {share:g}%)", o, lambda f: f.top_share_max > f.bal_top_share_max,
                     lambda f: (f.bal_top_share_max <= BALANCED_SHARE) & (f.n_share_above35 >= SHARE_CLASSES),
                     choices=("fig6",))
    return claim("RQ4", "One ce carries a larger share of the logit after imbalanced training, by at least the "
                        f"paper's factor (Fig. 6, relative to the balanced network: its {BALANCED_SHARE}% → {share:g}%, "
                        f"x{RELATIVE_SHARE:.2f})", f"x{RELATIVE_SHARE:.2f}",
                 f"{with_interval(o, 'bal_top_share_max', '.0f')}% → {with_interval(o, 'top_share_max', '.0f')}%", o,
                 lambda f: f.top_share_max > f.bal_top_share_max,
                 lambda f: f.top_share_max >= RELATIVE_SHARE * f.bal_top_share_max, choices=("fig6",))


PAPER = {
    # Sec. 5.4: "the single largest ce for the extreme minority classes (6 to 9) ... average 8.3,
    # [classes] 0 to 5 average only 2.6": not the others over the majority, as Table 3 is
    ("cifar10", "ce"): RQ4(largest_ce_ratio=8.3 / 2.6, notes={"largest_ce_ratio": "classes 6-9 over 0-5"}),
    ("cifar10", "focal"): RQ4(largest_ce_majority=0.8553, largest_ce_others=3.4335, largest_ce_ratio=4.01,
                              top_ce_share_ratio=3.03),
    ("cifar10", "ldam-drw"): RQ4(largest_ce_majority=4.3578, largest_ce_others=12.5248, largest_ce_ratio=2.87,
                                 top_ce_share_ratio=1.96,
                                 notes={"top_ce_share_ratio": "Table 4's 6.121 / 12.01: ce values, not shares of the logit"}),
    ("svhn", "ce"): RQ4(largest_ce_majority=1.4899, largest_ce_others=3.4955, largest_ce_ratio=2.35,
                        top_ce_share_ratio=2.33),
    ("celeba", "ce"): RQ4(largest_ce_majority=0.5897, largest_ce_others=1.4945, largest_ce_ratio=2.53,
                          top_ce_share_ratio=4.38),
}

QUESTION = Question(
    "RQ4", 4, "rq4_ce_diversity", "RQ4 · Diversity of ce", "pair", compute, check, PAPER,
    KeyFigure("Each class's largest class-mean ce, imbalanced networks (the paper's Figures 4-5, Table 3).",
              "largest class-mean ce", per_class=lambda f: np.asarray(f.class_mean_ce_top)[:, 0]),
    choices=("fig6",),
    constants={"ratio_size": (f"{RATIO_SIZE}x", "Tables 3-4: the stated size of the others over the majority"),
               "share_level": (f"{100 * SHARE_LEVEL:g}%", "Fig. 6: one ce's share of the logit, imbalanced"),
               "share_classes": (SHARE_CLASSES, "Fig. 6: classes above that share"),
               "balanced_share": (f"{BALANCED_SHARE}%", "Fig. 6: no class above this share, balanced"),
               "relative_share": (f"x{RELATIVE_SHARE:.2f}", "Fig. 6 relative: the largest share's rise over the balanced network's")})
