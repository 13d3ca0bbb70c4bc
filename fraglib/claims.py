"""The paper's claims, its own figures, and a verdict on ours.

`PAPER` holds the numbers the paper reports (its Tables 1-4 and the figures quoted in its
text), keyed by (dataset, loss). A run's verdicts come from `claims(bal, imb)`, where `bal`
and `imb` are `Pair` halves: the balanced- and imbalanced-trained runs of one configuration.
Each claim says what the paper states, the paper's figure, ours, and whether ours agrees:
"holds", "direction only" (the sign agrees, the paper's stated size does not), or "does not hold".
Chapters and the summary page read the same verdicts, so they cannot disagree.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# (dataset, loss) -> the paper's figures. BAC and accuracies in percent, as printed.
PAPER = {
    ("cifar10", "ce"): dict(
        bal_bac=92.65, imb_bac=72.56, retrain_bac=78.60,
        maj_train=98.22, maj_test=94.10, min_train=96.00, min_test=62.30,
        largest_ce_majority=None, largest_ce_others=None, largest_ce_ratio=8.3 / 2.6,
        top_ce_share_ratio=None, w_sum_majority=7.54, w_sum_minority=4.50, w_max=1.2, ce_max=8.0,
        k94=7, frob_tp=2.36, frob_fp=12.42, fe_overlap_tp=0.96, fe_overlap_fp=0.70,
        ce_overlap_tp=0.95, ce_overlap_fp=0.39),
    ("cifar10", "focal"): dict(
        bal_bac=92.65, imb_bac=70.20, retrain_bac=80.44,
        maj_train=99.48, maj_test=96.00, min_train=98.00, min_test=39.30,
        largest_ce_majority=0.8553, largest_ce_others=3.4335, largest_ce_ratio=4.01,
        top_ce_share_ratio=3.03, w_sum_majority=4.89, w_sum_minority=3.48, w_max=1.29, ce_max=8.77,
        k94=11, frob_tp=1.73, frob_fp=9.00),
    ("cifar10", "ldam-drw"): dict(
        bal_bac=92.65, imb_bac=77.80, retrain_bac=80.30,
        maj_train=98.42, maj_test=94.10, min_train=100.0, min_test=72.90,
        largest_ce_majority=4.3578, largest_ce_others=12.5248, largest_ce_ratio=2.87,
        top_ce_share_ratio=1.96, w_sum_majority=11.68, w_sum_minority=5.80, w_max=2.36, ce_max=13.32,
        k94=2, frob_tp=4.01, frob_fp=21.16),
    ("svhn", "ce"): dict(
        bal_bac=94.91, imb_bac=83.29, retrain_bac=85.60,
        maj_train=99.78, maj_test=98.13, min_train=100.0, min_test=61.47,
        largest_ce_majority=1.4899, largest_ce_others=3.4955, largest_ce_ratio=2.35,
        top_ce_share_ratio=2.33, w_sum_majority=7.12, w_sum_minority=3.94, w_max=1.25, ce_max=6.50,
        k94=3, frob_tp=4.67, frob_fp=17.58),
    ("celeba", "ce"): dict(
        bal_bac=96.90, imb_bac=87.65, retrain_bac=92.70,
        maj_train=99.88, maj_test=99.10, min_train=94.40, min_test=76.20,
        largest_ce_majority=0.5897, largest_ce_others=1.4945, largest_ce_ratio=2.53,
        top_ce_share_ratio=4.38, w_sum_majority=5.51, w_sum_minority=4.38, w_max=1.04, ce_max=1.49,
        k94=2, frob_tp=0.64, frob_fp=2.75),
}
PAPER_FIG8 = "majority class: no top-K FE ratio above 0.67; classes 8 and 9: 4 and 5 features above 0.9"


def paper_row(dataset: str, loss: str) -> tuple[dict, str]:
    """The paper's figures for this configuration, or for CIFAR-10 with the same loss (the
    paper's closest experiment) when the paper did not run it; and a label saying which."""
    if (dataset, loss) in PAPER:
        return PAPER[(dataset, loss)], f"paper ({dataset})"
    if ("cifar10", loss) in PAPER:
        return PAPER[("cifar10", loss)], "paper (CIFAR-10, same loss)"
    return {}, "paper (no such experiment)"


@dataclass
class Half:
    """One trained run's figures: its metrics.json with the measures inside."""
    metrics: dict

    @property
    def m(self) -> dict:
        return self.metrics["measures"]


@dataclass
class Claim:
    rq: str
    text: str
    paper: str
    ours: str
    verdict: str  # holds | direction only | does not hold | not measured

    def row(self) -> dict:
        return {"RQ": self.rq, "claim": self.text, "paper": self.paper, "ours": self.ours,
                "verdict": self.verdict}


def _verdict(direction: bool, size_ok: bool | None = None) -> str:
    if not direction:
        return "does not hold"
    return "holds" if size_ok in (None, True) else "direction only"


def _f(x, fmt=".2f"):
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else format(x, fmt)


def k_for_coverage(coverage_all, level: float = 0.94) -> int:
    """Smallest K whose top-K coverage reaches `level` (coverage_all[K-1] is K's coverage)."""
    hits = np.flatnonzero(np.asarray(coverage_all) >= level)
    return int(hits[0]) + 1 if len(hits) else len(coverage_all)


OUTSIDE = "outside the regime"  # a run did not memorise its training set: no test of the paper


def claims(bal: Half, imb: Half, dataset: str, loss: str, regime: dict | None = None) -> list[Claim]:
    """Every check of the paper's claims on one study. `regime` maps run name -> RegimeCheck;
    where a run is outside the paper's regime, every verdict reads OUTSIDE (ours still shown)."""
    out = _claims(bal, imb, dataset, loss)
    if regime and not all(r.in_regime for r in regime.values()):
        for c in out:
            c.verdict = OUTSIDE
    return out


def _claims(bal: Half, imb: Half, dataset: str, loss: str) -> list[Claim]:
    P, _ = paper_row(dataset, loss)
    out = []
    b, i = bal.metrics, imb.metrics
    bm, im = bal.m, imb.m
    maj, mnr = im["majority_class"], im["minority_class"]
    H = len(im["top_k_coverage_all"]) - 1

    # RQ1: classifier re-training
    rb, ib, bb = im["retrain_test_bac"], i["test_bac"], b["test_bac"]
    out.append(Claim("RQ1", "Re-training the head on the full balanced set's fe (imbalanced "
                            "extractor) does not recover the balanced-trained BAC",
                     f"{_f(P.get('retrain_bac'))} vs {_f(P.get('bal_bac'))}",
                     f"{100 * rb:.2f} vs {100 * bb:.2f}", _verdict(rb < bb)))
    out.append(Claim("RQ1", "... but re-training improves on the imbalanced-trained BAC",
                     f"{_f(P.get('retrain_bac'))} vs {_f(P.get('imb_bac'))}",
                     f"{100 * rb:.2f} vs {100 * ib:.2f}", _verdict(rb > ib)))

    # RQ2: generalisation of majority vs minority (imbalanced model)
    tr, te = i["train_class_acc"], i["test_class_acc"]
    gap_maj, gap_min = tr[maj] - te[maj], tr[mnr] - te[mnr]
    p_gap = (f"{P['min_train'] - P['min_test']:.1f} vs {P['maj_train'] - P['maj_test']:.1f} pts"
             if P else "–")
    out.append(Claim("RQ2", "The minority class's train-to-test accuracy drop is larger than the "
                            "majority's (imbalanced training)", p_gap,
                     f"{100 * gap_min:.1f} vs {100 * gap_maj:.1f} pts", _verdict(gap_min > gap_maj)))

    # RQ3: K << H, and fewer features for minority classes
    k94 = k_for_coverage(im["top_k_coverage_all"])
    out.append(Claim("RQ3", f"A few top-K ce (K << H = {H}) decide >= 94% of training predictions",
                     f"K = {P.get('k94', '–')}", f"K = {k94}", _verdict(k94 <= H // 4)))
    ks = im["coverage_ks"]
    c2 = [row[ks.index(2)] for row in im["class_top_k_coverage"]]
    out.append(Claim("RQ3", "Minority classes need fewer features: class top-2 coverage is higher "
                            "for the minority than the majority", "> 90% vs ~60% (CIFAR-10, CE)",
                     f"{_f(c2[mnr])} vs {_f(c2[maj])}", _verdict(c2[mnr] > c2[maj])))

    # RQ4: magnitudes of class ce
    lc, lcb = im["largest_class_ce"], bm["largest_class_ce"]
    out.append(Claim("RQ4", "The largest class-mean ce of the other classes is at least 2x the "
                            "majority's (Table 3)", f"x{_f(P.get('largest_ce_ratio'))}",
                     f"x{_f(lc['ratio'])}", _verdict(lc["ratio"] > 1, lc["ratio"] >= 2)))
    out.append(Claim("RQ4", "Imbalance widens that gap (ratio above the balanced model's)", "x≈1 → x>2",
                     f"x{_f(lcb['ratio'])} → x{_f(lc['ratio'])}", _verdict(lc["ratio"] > lcb["ratio"])))
    ts = im["top_ce_share_table"]
    out.append(Claim("RQ4", "The single largest ce is a larger share of the logit for the other "
                            "classes than for the majority (Table 4: 2-4x)",
                     f"x{_f(P.get('top_ce_share_ratio'))}", f"x{_f(ts['ratio'])}",
                     _verdict(ts["ratio"] > 1, ts["ratio"] >= 2)))

    # RQ5: weights
    ws_maj, ws_min = im["weight_top_sum_majority"], im["weight_top_sum_minority"]
    out.append(Claim("RQ5", "The majority's top-10 |W| sum exceeds the minority's",
                     f"{_f(P.get('w_sum_majority'))} vs {_f(P.get('w_sum_minority'))}",
                     f"{ws_maj:.2f} vs {ws_min:.2f}", _verdict(ws_maj > ws_min)))
    ce_max, w_max = im["class_mean_ce_largest"], im["weight_largest"]
    out.append(Claim("RQ5", "Class-mean ce reach values far above any weight (fe, not W, sets the "
                            "scale)", f"{_f(P.get('ce_max'))} vs {_f(P.get('w_max'))}",
                     f"{ce_max:.2f} vs {w_max:.2f}", _verdict(ce_max > w_max, ce_max >= 2 * w_max)))

    # RQ6: diversity of fe
    fd = im["features_to_describe_fe"]
    out.append(Claim("RQ6", "More top-K fe are needed to describe the majority class than the "
                            "minority (Fig. 9)", "majority > minority", f"{fd[maj]} vs {fd[mnr]}",
                     _verdict(fd[maj] > fd[mnr])))
    ratio = np.asarray(im["fe_member_ratio"], dtype=float)
    above = (np.nan_to_num(ratio) > 0.9).sum(1)
    out.append(Claim("RQ6", "Minority classes have more top-K fe present in over 90% of their "
                            "instances (Fig. 8)", PAPER_FIG8,
                     f"majority: {above[maj]} (max ratio {np.nanmax(ratio[maj]):.2f}); "
                     f"minority: {above[mnr]}", _verdict(above[mnr] > above[maj])))

    # RQ7: train vs test TP vs FP
    r7 = im["rq7"]
    out.append(Claim("RQ7", "Test false positives' mean fe lie further from training's than true "
                            "positives' (Frobenius norm)",
                     f"{_f(P.get('frob_fp'))} vs {_f(P.get('frob_tp'))}",
                     f"{r7['frobenius_fp']:.2f} vs {r7['frobenius_tp']:.2f}",
                     _verdict(r7["frobenius_fp"] > r7["frobenius_tp"])))
    out.append(Claim("RQ7", "The identity of the top fe is shared with training more by TP than "
                            "by FP (overlap of the 10 most frequent)",
                     f"{_f(P.get('fe_overlap_tp'))} vs {_f(P.get('fe_overlap_fp'))}",
                     f"{r7['fe_overlap_tp']:.2f} vs {r7['fe_overlap_fp']:.2f}",
                     _verdict(r7["fe_overlap_tp"] > r7["fe_overlap_fp"])))
    out.append(Claim("RQ7", "... and the gap is wider for ce than for fe",
                     f"ce {_f(P.get('ce_overlap_tp'))}/{_f(P.get('ce_overlap_fp'))}",
                     f"ce {r7['ce_overlap_tp']:.2f}/{r7['ce_overlap_fp']:.2f}",
                     _verdict(r7["ce_overlap_tp"] - r7["ce_overlap_fp"]
                              > r7["fe_overlap_tp"] - r7["fe_overlap_fp"])))
    return out


def table(claim_list):
    """The claims as a table (one row each) for a chapter's verdict cell, every claim in full."""
    import pandas as pd
    return pd.DataFrame([c.row() for c in claim_list]).style.hide(axis="index")


def sentence(claim_list) -> str:
    """A one-paragraph markdown verdict, computed from the claims."""
    n = len(claim_list)
    held = sum(c.verdict == "holds" for c in claim_list)
    partial = sum(c.verdict == "direction only" for c in claim_list)
    failed = [c for c in claim_list if c.verdict == "does not hold"]
    if n and all(c.verdict == OUTSIDE for c in claim_list):
        return ("**These runs are outside the paper's regime** (a class's clean training accuracy is "
                "below 95%): the paper's claims are about networks that memorise their training set, so "
                "these checks do not test them. The figures are shown for reference only.")
    if held == n:
        head = f"**The paper's claim holds on this run** ({n} of {n} checks)."
    elif not failed:
        head = (f"**The claim holds in direction** on this run: {held} of {n} checks hold fully, "
                f"{partial} only in direction (the paper's stated size is not reached).")
    else:
        head = (f"**The claim does not fully hold on this run**: {held} of {n} checks hold, "
                f"{partial} in direction only, {len(failed)} do not.")
    if failed:
        head += " Not holding: " + "; ".join(f"*{c.text}* (ours {c.ours}, paper {c.paper})" for c in failed) + "."
    return head
