"""The paper's claims, one check per research question, and the verdict rules.

`CHECKS["RQ4"](ours, paper)` compares our `figures.RQ4` with the paper's (`paper.PAPER`), field
by field under the same names, and returns one `Claim` per statement of the paper: what it says,
the paper's figure, ours, and a verdict:

- "holds": our figure agrees with the paper's statement, in direction and in any stated size;
- "direction only": the sign agrees, the size the paper states (e.g. "at least 2x") does not;
- "does not hold": the sign disagrees;
- OUTSIDE: a run of the study is outside the paper's regime (it did not memorise its training
  set), so the check tests nothing; our figure is still shown.

Chapters and the summary page read the same checks (`check(study, rq)`), so they cannot disagree.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .figures import EOS, FIGURES, RQ1, RQ2, RQ3, RQ4, RQ5, RQ6, RQ7
from .paper import paper_figures

HOLDS, DIRECTION, FAILS = "holds", "direction only", "does not hold"
OUTSIDE = "outside the regime"  # a run did not memorise its training set: no test of the paper
VERDICTS = (HOLDS, DIRECTION, FAILS, OUTSIDE)


@dataclass
class Claim:
    rq: str
    text: str
    paper: str
    ours: str
    verdict: str

    def row(self) -> dict:
        return {"RQ": self.rq, "claim": self.text, "paper": self.paper, "ours": self.ours,
                "verdict": self.verdict}


def verdict(direction: bool, size_ok: bool | None = None) -> str:
    if not direction:
        return FAILS
    return HOLDS if size_ok in (None, True) else DIRECTION


def fmt(x, spec=".2f") -> str:
    """A figure for a table: "–" where there is none (the paper reports nothing)."""
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "–"
    return format(x, spec)


def vs(a, b, spec=".2f", unit="") -> str:
    return f"{fmt(a, spec)}{unit} vs {fmt(b, spec)}{unit}"


# -- one check per research question ----------------------------------------------------------------
def rq1_claims(o: RQ1, p: RQ1) -> list[Claim]:
    return [
        Claim("RQ1", "Re-training the head on the full balanced set's fe (imbalanced extractor) does "
                     "not recover the balanced-trained BAC",
              vs(p.retrain_bac, p.bal_bac), vs(o.retrain_bac, o.bal_bac), verdict(o.retrain_bac < o.bal_bac)),
        Claim("RQ1", "... but re-training improves on the imbalanced-trained BAC",
              vs(p.retrain_bac, p.imb_bac), vs(o.retrain_bac, o.imb_bac), verdict(o.retrain_bac > o.imb_bac)),
    ]


def rq2_claims(o: RQ2, p: RQ2) -> list[Claim]:
    def drop(r: RQ2):
        return (None, None) if r.min_train is None else (r.min_train - r.min_test, r.maj_train - r.maj_test)
    return [Claim("RQ2", "The minority class's train-to-test accuracy drop is larger than the majority's "
                         "(imbalanced training)", vs(*drop(p), ".1f", " pts"), vs(*drop(o), ".1f", " pts"),
                  verdict(drop(o)[0] > drop(o)[1]))]


def rq3_claims(o: RQ3, p: RQ3) -> list[Claim]:
    return [
        Claim("RQ3", f"A few top-K ce (K << H = {o.H}) decide >= 94% of training predictions",
              f"K = {fmt(p.k94, 'd')}", f"K = {o.k94}", verdict(o.k94 <= o.H // 4)),
        Claim("RQ3", "Minority classes need fewer features: class top-2 coverage (%) is higher for the "
                     "minority than the majority", vs(p.c2_minority, p.c2_majority, ".0f"),
              vs(o.c2_minority, o.c2_majority, ".0f"), verdict(o.c2_minority > o.c2_majority)),
    ]


def rq4_claims(o: RQ4, p: RQ4) -> list[Claim]:
    return [
        Claim("RQ4", "The largest class-mean ce of the other classes is at least 2x the majority's "
                     "(Table 3)", f"x{fmt(p.largest_ce_ratio)}", f"x{fmt(o.largest_ce_ratio)}",
              verdict(o.largest_ce_ratio > 1, o.largest_ce_ratio >= 2)),
        Claim("RQ4", "Imbalance widens that gap (ratio above the balanced model's)", "x≈1 → x>2",
              f"x{fmt(o.largest_ce_ratio_bal)} → x{fmt(o.largest_ce_ratio)}",
              verdict(o.largest_ce_ratio > o.largest_ce_ratio_bal)),
        Claim("RQ4", "The single largest ce is a larger share of the logit for the other classes than for "
                     "the majority (Table 4: 2-4x)", f"x{fmt(p.top_ce_share_ratio)}",
              f"x{fmt(o.top_ce_share_ratio)}", verdict(o.top_ce_share_ratio > 1, o.top_ce_share_ratio >= 2)),
    ]


def rq5_claims(o: RQ5, p: RQ5) -> list[Claim]:
    return [
        Claim("RQ5", "The majority's top-10 |W| sum exceeds the minority's",
              vs(p.w_sum_majority, p.w_sum_minority), vs(o.w_sum_majority, o.w_sum_minority),
              verdict(o.w_sum_majority > o.w_sum_minority)),
        Claim("RQ5", "Class-mean ce reach values far above any weight (fe, not W, sets the scale)",
              vs(p.ce_max, p.w_max), vs(o.ce_max, o.w_max), verdict(o.ce_max > o.w_max, o.ce_max >= 2 * o.w_max)),
    ]


def rq6_claims(o: RQ6, p: RQ6) -> list[Claim]:
    return [
        Claim("RQ6", "More top-K fe are needed to describe the majority class than the minority (Fig. 9)",
              "majority > minority", vs(o.fd_majority, o.fd_minority, "d"), verdict(o.fd_majority > o.fd_minority)),
        Claim("RQ6", "Minority classes have more top-K fe present in over 90% of their instances (Fig. 8)",
              vs(p.above90_minority, p.above90_majority, "d"), vs(o.above90_minority, o.above90_majority, "d"),
              verdict(o.above90_minority > o.above90_majority)),
    ]


def rq7_claims(o: RQ7, p: RQ7) -> list[Claim]:
    return [
        Claim("RQ7", "Test false positives' mean fe lie further from training's than true positives' "
                     "(Frobenius norm)", vs(p.frob_fp, p.frob_tp), vs(o.frob_fp, o.frob_tp),
              verdict(o.frob_fp > o.frob_tp)),
        Claim("RQ7", "The identity of the top fe is shared with training more by TP than by FP (overlap "
                     "of the 10 most frequent)", vs(p.fe_overlap_tp, p.fe_overlap_fp),
              vs(o.fe_overlap_tp, o.fe_overlap_fp), verdict(o.fe_overlap_tp > o.fe_overlap_fp)),
        Claim("RQ7", "... and the gap is wider for ce than for fe",
              f"ce {vs(p.ce_overlap_tp, p.ce_overlap_fp)}", f"ce {vs(o.ce_overlap_tp, o.ce_overlap_fp)}",
              verdict(o.ce_overlap_tp - o.ce_overlap_fp > o.fe_overlap_tp - o.fe_overlap_fp)),
    ]


def eos_claims(o: EOS, p: EOS) -> list[Claim]:
    return [
        Claim("EOS", "The train-test gap in fe is wider for the minority class than the majority",
              "wider for minority classes", vs(o.gap_minority, o.gap_majority, ".3f"),
              verdict(o.gap_minority > o.gap_majority)),
        Claim("EOS", "Three-phase training with EOS beats the end-to-end imbalanced model",
              "higher BAC", vs(o.eos_bac, o.e2e_bac), verdict(o.eos_bac > o.e2e_bac)),
        Claim("EOS", "EOS beats re-sampling in embedding space (best of ROS, SMOTE, cRT)",
              "higher BAC", vs(o.eos_bac, o.best_other_bac), verdict(o.eos_bac > o.best_other_bac)),
    ]


CHECKS = {"RQ1": rq1_claims, "RQ2": rq2_claims, "RQ3": rq3_claims, "RQ4": rq4_claims,
          "RQ5": rq5_claims, "RQ6": rq6_claims, "RQ7": rq7_claims, "EOS": eos_claims}


def judge(claims: list[Claim], in_regime: bool) -> list[Claim]:
    """Where a run is outside the paper's regime every verdict reads OUTSIDE (ours still shown)."""
    if not in_regime:
        for c in claims:
            c.verdict = OUTSIDE
    return claims


def check(study, rq: str, figures=None) -> list[Claim]:
    """The claims of one research question on one study (its figures computed if not given)."""
    ours = figures if figures is not None else FIGURES[rq](study)
    paper, _ = paper_figures(study.dataset, study.loss, rq)
    return judge(CHECKS[rq](ours, paper), study.in_regime)


# -- presentation ---------------------------------------------------------------------------------
def table(claim_list):
    """The claims as a table (one row each) for a chapter's verdict cell, every claim in full."""
    import pandas as pd
    return pd.DataFrame([c.row() for c in claim_list]).style.hide(axis="index")


def sentence(claim_list) -> str:
    """A one-paragraph markdown verdict, computed from the claims."""
    n = len(claim_list)
    held = sum(c.verdict == HOLDS for c in claim_list)
    partial = sum(c.verdict == DIRECTION for c in claim_list)
    failed = [c for c in claim_list if c.verdict == FAILS]
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
