"""The paper's claims, one check per research question, and the verdict rules.

`rq4_claims(ours, paper)` compares our `figures.RQ4` with the paper's (`paper.PAPER`), field by
field under the same names, and returns one `Claim` per statement of the paper: what it says,
the paper's figure, ours (with its bootstrap interval), and a verdict. A claim is a comparison
written once as a function of the figures (`direction`, and `size` where the paper states one,
e.g. "at least 2x"); it is applied to our observed figures and to every bootstrap resample of
them (`Figures.resampled`), which says how sure the verdict is:

- "holds": the comparison (direction and any stated size) holds on our figures *and* in at least
  97.5% of the resamples, i.e. the 95% bootstrap interval of the compared quantity lies on the
  claim's side;
- "holds (within noise)": it holds on our figures but not that robustly: another draw of the
  same images could reverse it;
- "direction only": the sign agrees, the size the paper states does not;
- "does not hold": the sign disagrees;
- OUTSIDE: a run of the study is outside the paper's regime (it did not memorise its training
  set), so the check tests nothing; our figure is still shown.

A comparison that reads no resampled figure (the trained weights of RQ5) is exact for its run:
"exact" in the resamples column. Seeds, not the bootstrap, vary those (`--seeds`).

Each question's row in `questions.py` names its claims function; chapters and the summary page
read the same checks (`Study.claims`), so they cannot disagree.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from . import measures as M
from .bootstrap import LEVEL, interval
from .extensions import EOS, Collapse, Procrustean
from .figures import RQ1, RQ2, RQ3, RQ4, RQ5, RQ6, RQ7, Figures

HOLDS = "holds"                        # on our figures and in >= 97.5% of the resamples
NOISE = "holds (within noise)"         # on our figures, not that robustly
ONE_NET = "holds (one network)"        # no resampling noise (trained weights, a history): seeds vary it
DIRECTION = "direction only"           # the sign agrees, the size the paper states does not
SIZE = "about sample size"             # holds without the size-matched control, not with it
FAILS = "does not hold"
DESCRIPTIVE = "descriptive"            # shown, not voting: a raw count or distance whose control votes
OUTSIDE = "outside the regime"         # a run did not memorise its training set: no test of the paper
VERDICTS = (HOLDS, NOISE, ONE_NET, DIRECTION, SIZE, FAILS, DESCRIPTIVE, OUTSIDE)
HOLDING = (HOLDS, NOISE, ONE_NET)
AGREE = 1 - (1 - LEVEL) / 2     # share of resamples in which a robust claim holds (0.975)


@dataclass
class Claim:
    question: str                  # the question's id ("RQ3")
    text: str
    paper: str
    ours: str
    verdict: str
    support: float | None = None   # share of resamples (or control draws) in which it holds; None: one network
    observed: str = ""             # the verdict the comparison itself gives (a descriptive row's too)

    def row(self) -> dict:
        held = "one network" if self.support is None else f"{100 * self.support:.1f}%"
        return {"question": self.question, "claim": self.text, "paper": self.paper, "ours": self.ours,
                "resamples holding": held, "verdict": self.verdict}


def verdict(direction: bool, size_ok: bool | None = None, support: float | None = None) -> str:
    """The verdict from the comparison on our figures (direction, size) and the share of
    resamples in which the whole comparison holds (None: no resampled figure: one network)."""
    if not direction:
        return FAILS
    if size_ok is False:
        return DIRECTION
    if support is None:
        return ONE_NET
    return HOLDS if support >= AGREE else NOISE


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
    resamples, its 95% interval: "57.30 [54.10, 60.20]" (exact for a small class's proportion)."""
    get = what if callable(what) else (lambda f: getattr(f, what))
    value = get(figs)
    text = f"{fmt(value, 'd' if isinstance(value, (int, np.integer)) else spec)}{unit}"
    if isinstance(what, str) and figs.interval(what) is not None and np.ndim(figs.interval(what)[0]) == 0:
        lo, hi = figs.interval(what)
        return text + f" [{fmt(float(lo), spec)}, {fmt(float(hi), spec)}]"
    samples = np.asarray(get(figs.resampled()), dtype=float)
    if samples.ndim == 1 and np.isfinite(samples).any():
        lo, hi = (float(v) for v in interval(samples))
        if value is not None and np.isfinite(value):
            lo, hi = min(lo, float(value)), max(hi, float(value))
        text += f" [{fmt(lo, spec)}, {fmt(hi, spec)}]"
    return text


def pv(p: Figures, name: str, spec=".2f", unit="") -> str:
    """One of the paper's figures, with its note where the paper's statistic is not ours."""
    value = getattr(p, name)
    text = f"{fmt(value, 'd' if isinstance(value, (int, np.integer)) else spec)}{unit}"
    return text + (f" [{p.notes[name]}]" if value is not None and name in p.notes else "")


def vs(a, b, spec=".2f", unit="") -> str:
    return f"{fmt(a, spec)}{unit} vs {fmt(b, spec)}{unit}"


def ours_vs(o: Figures, a, b, spec=".2f", unit="") -> str:
    """Two of our figures (names or functions), each with its interval."""
    return f"{with_interval(o, a, spec, unit)} vs {with_interval(o, b, spec, unit)}"


def claim(question: str, text: str, paper: str, ours: str, o: Figures, direction: Callable,
          size: Callable | None = None, descriptive: bool = False, uncontrolled: Claim | None = None) -> Claim:
    """One check: the comparison (`direction`, and `size` where the paper states one) judged on
    our figures and their resamples. A `descriptive` row is shown and does not vote (its control
    does); a controlled claim that fails where its `uncontrolled` twin holds is about sample size."""
    v, support = judged(o, direction, size)
    shown = DESCRIPTIVE if descriptive else v
    if uncontrolled is not None and v in (FAILS, DIRECTION) and uncontrolled.observed in HOLDING:
        shown = SIZE
    return Claim(question, text, paper, ours, shown, support, observed=v)


# -- one check per research question ----------------------------------------------------------------
def rq1_claims(o: RQ1, p: RQ1) -> list[Claim]:
    return [
        claim("RQ1", "The balanced-trained BAC is not recovered by a linear head re-trained this way (a fresh "
                     "head on the imbalanced extractor's fe of the full balanced set)", vs(p.retrain_bac, p.bal_bac),
              ours_vs(o, "retrain_bac", "bal_bac"), o, lambda f: f.retrain_bac < f.bal_bac),
        claim("RQ1", "... but re-training improves on the imbalanced-trained BAC", vs(p.retrain_bac, p.bac),
              ours_vs(o, "retrain_bac", "bac"), o, lambda f: f.retrain_bac > f.bac),
    ]


def _drop_min(f):
    return f.min_train - f.min_test


def _drop_maj(f):
    return f.maj_train - f.maj_test


def rq2_claims(o: RQ2, p: RQ2) -> list[Claim]:
    paper = "–" if p.min_train is None else vs(_drop_min(p), _drop_maj(p), ".1f", " pts")
    return [
        claim("RQ2", "The minority class's train-to-test accuracy drop is larger than the majority's "
                     "(imbalanced training)", paper, ours_vs(o, _drop_min, _drop_maj, ".1f", " pts"), o,
              lambda f: _drop_min(f) > _drop_maj(f)),
        claim("RQ2", "Test accuracy declines as classes shrink (rank correlation of per-class test accuracy "
                     "with the class index, imbalanced training; Fig. 2)", "declining",
              f"ρ = {with_interval(o, 'test_acc_rank_corr')}", o, lambda f: f.test_acc_rank_corr < 0),
    ]


def _k_size(f):                  # the paper's K = 7 of H = 64, at this network's H
    return round(K_OF_64 * f.H / 64)


K_OF_64 = 7                      # RQ3: "K = 7 ... (i.e., 7 out of 64)"


def rq3_claims(o: RQ3, p: RQ3) -> list[Claim]:
    size = f"K ≤ {_k_size(o)} of H = {o.H}"
    return [
        claim("RQ3", f"A few top-K ce decide >= 94% of the imbalanced network's training predictions "
                     f"({size}: the paper's 7 of 64)", f"K = {pv(p, 'k94', 'd')}", f"K = {with_interval(o, 'k94', '.0f')}",
              o, lambda f: f.k94 <= f.H // 4, lambda f: f.k94 <= _k_size(f)),
        claim("RQ3", f"... and of the balanced network's ({size})", f"K = {pv(p, 'bal_k94', 'd')}",
              f"K = {with_interval(o, 'bal_k94', '.0f')}", o,
              lambda f: f.bal_k94 <= f.H // 4, lambda f: f.bal_k94 <= _k_size(f)),
        claim("RQ3", "At K = 7, every class's training predictions are covered >= 94% (imbalanced; the "
                     "lowest class shown)", "over 94%", f"{with_interval(o, 'c7_min', '.1f')}%", o,
              lambda f: f.c7_min >= 94),
        claim("RQ3", "... and >= 97% in the balanced network", "over 97%",
              f"{with_interval(o, 'bal_c7_min', '.1f')}%", o, lambda f: f.bal_c7_min >= 97),
        claim("RQ3", "Minority classes need fewer features: class top-2 coverage (%) is higher for the "
                     "minority than the majority", vs(p.c2_minority, p.c2_majority, ".0f"),
              ours_vs(o, "c2_minority", "c2_majority", ".0f"), o, lambda f: f.c2_minority > f.c2_majority),
    ]


def rq4_claims(o: RQ4, p: RQ4) -> list[Claim]:
    return [
        claim("RQ4", "The largest class-mean ce of the other classes is at least 2x the majority's "
                     "(Table 3)", f"x{pv(p, 'largest_ce_ratio')}", f"x{with_interval(o, 'largest_ce_ratio')}", o,
              lambda f: f.largest_ce_ratio > 1, lambda f: f.largest_ce_ratio >= 2),
        claim("RQ4", "Imbalance widens that gap (ratio above the balanced model's)", "x≈1 → x>2",
              f"x{with_interval(o, 'bal_largest_ce_ratio')} → x{with_interval(o, 'largest_ce_ratio')}", o,
              lambda f: f.largest_ce_ratio > f.bal_largest_ce_ratio),
        claim("RQ4", "The single largest ce is a larger share of the logit for the other classes than for "
                     "the majority (Table 4: 2-4x)", f"x{pv(p, 'top_ce_share_ratio')}",
              f"x{with_interval(o, 'top_ce_share_ratio')}", o,
              lambda f: f.top_ce_share_ratio > 1, lambda f: f.top_ce_share_ratio >= 2),
        claim("RQ4", "One ce carries a larger share of the logit after imbalanced training (Fig. 6: no class "
                     "above 26% balanced; five classes above 35% imbalanced)", "≤ 26% → 5 classes > 35%",
              f"{with_interval(o, 'bal_top_share_max', '.0f')}% → {with_interval(o, 'top_share_max', '.0f')}% "
              f"({o.n_share_above35} classes > 35%)", o, lambda f: f.top_share_max > f.bal_top_share_max,
              lambda f: (f.bal_top_share_max <= 26) & (f.n_share_above35 >= 5)),
    ]


def rq5_claims(o: RQ5, p: RQ5) -> list[Claim]:
    return [
        claim("RQ5", "The majority's top-10 |W| sum exceeds the minority's",
              f"{pv(p, 'w_sum_majority')} vs {pv(p, 'w_sum_minority')}", vs(o.w_sum_majority, o.w_sum_minority),
              o, lambda f: f.w_sum_majority > f.w_sum_minority),
        claim("RQ5", "fe, not W, carries the other classes' larger top ce: of their log excess over the "
                     "majority, the fe factor's share is larger than W's (scale-free)", "fe (W ≈ 1.2, ce > 8)",
              f"fe {with_interval(o, 'excess_fe')} vs W {with_interval(o, 'excess_w')}", o,
              lambda f: f.excess_fe > f.excess_w),
        claim("RQ5", "Class-mean ce reach values far above any weight (dimensional: fe and W can trade scale "
                     "without changing a logit, so this row does not vote)", f"{pv(p, 'ce_max')} vs {pv(p, 'w_max')}",
              ours_vs(o, "ce_max", "w_max"), o, lambda f: f.ce_max > f.w_max, descriptive=True),
    ]


def rq6_claims(o: RQ6, p: RQ6) -> list[Claim]:
    n = f"{o.n_matched} images per class"
    raw_fd = claim("RQ6", "More top-K fe are needed to describe the majority class than the minority (Fig. 9; "
                          "raw counts grow with class size)", "majority > minority",
                   ours_vs(o, "fd_majority", "fd_minority", ".0f"), o, lambda f: f.fd_majority > f.fd_minority,
                   descriptive=True)
    raw_90 = claim("RQ6", "Minority classes have more top-K fe present in over 90% of their instances (Fig. 8; "
                          "raw counts)", vs(p.above90_minority, p.above90_majority, "d"),
                   ours_vs(o, "above90_minority", "above90_majority", ".0f"), o,
                   lambda f: f.above90_minority > f.above90_majority, descriptive=True)
    return [
        raw_fd,
        claim("RQ6", f"... and still at the minority's size (size-matched control, {n})", "–",
              ours_vs(o, "fd_majority_matched", "fd_minority_matched", ".1f"), o,
              lambda f: f.fd_majority_matched > f.fd_minority_matched, uncontrolled=raw_fd),
        raw_90,
        claim("RQ6", f"... and still at the minority's size (size-matched control, {n})", "–",
              ours_vs(o, "above90_minority_matched", "above90_majority_matched", ".1f"), o,
              lambda f: f.above90_minority_matched > f.above90_majority_matched, uncontrolled=raw_90),
    ]


HALF = (0.35, 0.65)   # RQ7: "approx. half of their training set values"


def rq7_claims(o: RQ7, p: RQ7) -> list[Claim]:
    left = (f"; {o.classes_left_out} classes left out: {o.classes_no_tp} with no TP, {o.classes_no_fp} "
            f"with no FP" if o.classes_left_out else "")
    raw_frob = claim("RQ7", "Test false positives' mean fe lie further from training's than true positives' "
                            f"(Frobenius norm{left}; raw: FP are fewer)", vs(p.frob_fp, p.frob_tp),
                     ours_vs(o, "frob_fp", "frob_tp"), o, lambda f: f.frob_fp > f.frob_tp, descriptive=True)
    raw_fe = claim("RQ7", "The identity of the top fe is shared with training more by TP than by FP (overlap "
                          "of the 10 most frequent; raw)", vs(p.fe_overlap_tp, p.fe_overlap_fp),
                   ours_vs(o, "fe_overlap_tp", "fe_overlap_fp"), o, lambda f: f.fe_overlap_tp > f.fe_overlap_fp,
                   descriptive=True)
    return [
        raw_frob,
        claim("RQ7", "... and still with each class's TP drawn at the size of its FP (size-matched control)",
              "–", ours_vs(o, "frob_fp", "frob_tp_matched"), o, lambda f: f.frob_fp > f.frob_tp_matched,
              uncontrolled=raw_frob),
        raw_fe,
        claim("RQ7", "... and still with TP drawn at the FP size (size-matched control)", "–",
              ours_vs(o, "fe_overlap_tp_matched", "fe_overlap_fp"), o,
              lambda f: f.fe_overlap_tp_matched > f.fe_overlap_fp, uncontrolled=raw_fe),
        claim("RQ7", "... and the gap is wider for ce than for fe (TP at the FP size)",
              f"ce {vs(p.ce_overlap_tp, p.ce_overlap_fp)}",
              f"ce {ours_vs(o, 'ce_overlap_tp_matched', 'ce_overlap_fp')}", o,
              lambda f: f.ce_overlap_tp_matched - f.ce_overlap_fp > f.fe_overlap_tp_matched - f.fe_overlap_fp),
        claim("RQ7", "FP reach lower magnitudes of the top training fe than TP: about half of training's "
                     f"(sum of each class's ten largest class-mean training fe, test over train; "
                     f"{HALF[0]:g}-{HALF[1]:g} taken as half)", "≈ 0.5 (FP) vs ≈ 1 (TP)",
              f"FP {with_interval(o, 'mag_fp')} vs TP {with_interval(o, 'mag_tp')}", o,
              lambda f: (f.mag_fp < f.mag_tp) & (f.mag_fp < 1), lambda f: (f.mag_fp >= HALF[0]) & (f.mag_fp <= HALF[1])),
    ]


def eos_claims(o: EOS, p: EOS) -> list[Claim]:
    raw = claim("EOS", "The train-test gap in fe is wider for the minority class than the majority (raw: the "
                       "minority's training mean is over far fewer images)", "wider for minority classes",
                ours_vs(o, "gap_minority", "gap_majority", ".3f"), o, lambda f: f.gap_minority > f.gap_majority,
                descriptive=True)
    return [
        raw,
        claim("EOS", f"... and still with the majority's training mean over {o.n_matched} drawn images "
                     f"(size-matched control)", "–", ours_vs(o, "gap_minority", "gap_majority_matched", ".3f"), o,
              lambda f: f.gap_minority > f.gap_majority_matched, uncontrolled=raw),
        claim("EOS", "Three-phase training with EOS beats the end-to-end imbalanced model",
              "higher BAC", ours_vs(o, "eos_bac", "e2e_bac"), o, lambda f: f.eos_bac > f.e2e_bac),
        claim("EOS", "EOS beats re-sampling in embedding space (best of ROS, SMOTE, cRT)",
              "higher BAC", ours_vs(o, "eos_bac", "best_other_bac"), o, lambda f: f.eos_bac > f.best_other_bac),
    ]


def _ladder(o: Collapse, key: str) -> str:
    return " → ".join(fmt(v) for v in o.ladder[key])


def collapse_claims(o: Collapse, p: Collapse | None = None) -> list[Claim]:
    """Minority Collapse (Fang et al.; not a claim of the fragility paper, which has no figure),
    read along the whole ladder of ratios, not at one end."""
    rs = " → ".join(f"{r:g}" for r in o.ratios)
    return [
        claim("COLLAPSE", f"The minority classes' classifier rows turn towards each other at every step up the "
                          f"ladder (mean pairwise cosine of centred W; ratios {rs})", "rises (Fang et al.)",
              _ladder(o, "w:minority"), o, lambda f: M.rises(f.ladder["w:minority"])),
        claim("COLLAPSE", "... while the majority classes' rows do not (the minority's rise, first rung to last, "
                          "exceeds the majority's)", "minority only",
              f"{fmt(o.w_minority_rise)} vs {fmt(o.w_majority_rise)}", o,
              lambda f: f.w_minority_rise > max(f.w_majority_rise, 0)),
        claim("COLLAPSE", "... and so in LPM's own measure, the raw W rows (every step up the ladder)",
              "rises (LPM's code)", _ladder(o, "w_raw:minority"), o, lambda f: M.rises(f.ladder["w_raw:minority"])),
        claim("COLLAPSE", "The minority classes' class-mean fe turn towards each other too (centred by the "
                          "global training mean; every step up the ladder)", "–", _ladder(o, "fe:minority"), o,
              lambda f: M.rises(f.ladder["fe:minority"])),
        claim("COLLAPSE", "... uncentred, their cosines measure the positive component all post-ReLU means share "
                          "(shown, not voting)", "–", _ladder(o, "fe_raw:minority"), o,
              lambda f: M.rises(f.ladder["fe_raw:minority"]), descriptive=True),
    ]


def procrustean_claims(o: Procrustean, p: Procrustean | None = None) -> list[Claim]:
    """The claims of Ye, Zhan and Chao's abstract, on our interpretation of their method; the
    balance claims read the clean training images (the mixed batches' spread shrinks by
    construction: shown, not voting)."""
    e = f"first {o.early_epochs} epochs, clean training images"

    def balanced_grads(f, pt, ce):
        return abs(np.log(getattr(f, pt))) < abs(np.log(getattr(f, ce)))
    return [
        claim("PT", f"With plain CE the minor classes are under-fitted first: most of their training images "
                    f"are predicted as major classes early on ({e})", "most",
              f"{fmt(o.ce_major_share_early, '.0f')}% (Procrustean: {fmt(o.pt_major_share_early, '.0f')}%)",
              o, lambda f: f.ce_major_share_early > 50),
        claim("PT", f"... and their feature gradients are much larger (minor / major mean |dL/dfe|, {e})",
              "much larger", f"x{fmt(o.ce_grad_ratio_early)}", o,
              lambda f: f.ce_grad_ratio_early > 1, lambda f: f.ce_grad_ratio_early >= 2),
        claim("PT", f"Procrustean training balances per-class training accuracy (spread across classes, {e})",
              "balanced", vs(o.pt_acc_spread_early, o.ce_acc_spread_early, ".3f") + " (ours vs CE)", o,
              lambda f: f.pt_acc_spread_early < f.ce_acc_spread_early),
        claim("PT", f"... and the feature-gradient norms (minor / major ratio closer to 1; {e})", "balanced",
              f"x{fmt(o.pt_grad_ratio_early)} vs x{fmt(o.ce_grad_ratio_early)} (CE)", o,
              lambda f: balanced_grads(f, "pt_grad_ratio_early", "ce_grad_ratio_early")),
        claim("PT", "... on the mixed training batches instead, where mixing lowers the major classes' accuracy "
                    "by construction (shown, not voting)", "balanced",
              vs(o.mixed_pt_acc_spread_early, o.mixed_ce_acc_spread_early, ".3f") + " (ours vs CE)", o,
              lambda f: f.mixed_pt_acc_spread_early < f.mixed_ce_acc_spread_early, descriptive=True),
        claim("PT", "Test BAC improves over CE (exponential imbalance)", "higher",
              ours_vs(o, "pt_bac_exp", "ce_bac_exp"), o, lambda f: f.pt_bac_exp > f.ce_bac_exp),
        claim("PT", "... most on step imbalance (gain in BAC points, step vs exponential)", "largest on step",
              ours_vs(o, "gain_step", "gain_exp"), o, lambda f: f.gain_step > f.gain_exp),
    ]


def judge(claims: list[Claim], in_regime: bool) -> list[Claim]:
    """Where a run is outside the paper's regime every verdict reads OUTSIDE (ours still shown)."""
    if not in_regime:
        for c in claims:
            c.verdict = OUTSIDE
    return claims


# -- presentation ---------------------------------------------------------------------------------
def table(claim_list):
    """The claims as a table (one row each) for a chapter's verdict cell, every claim in full."""
    import pandas as pd
    return pd.DataFrame([c.row() for c in claim_list]).style.hide(axis="index")


def counts(verdicts) -> dict:
    """How many of each verdict, in the order of VERDICTS."""
    verdicts = list(verdicts)
    return {v: verdicts.count(v) for v in VERDICTS}


TALLY = {HOLDS: "hold beyond the bootstrap's noise", NOISE: "hold only within it",
         ONE_NET: "hold for this one network (no resampling noise: only seeds vary it)",
         DIRECTION: "hold in direction only (the paper's stated size is not reached)",
         SIZE: "are about sample size (they hold without the size-matched control, not with it)",
         FAILS: "do not hold"}


def tally(k: dict) -> str:
    """"3 hold beyond the bootstrap's noise, 1 do not" from verdict counts (the voting kinds)."""
    return ", ".join(f"{k[v]} {text}" for v, text in TALLY.items() if k.get(v))


def sentence(claim_list) -> str:
    """A one-paragraph markdown verdict, computed from the claims; every clause is true of every
    row it counts."""
    k = counts(c.verdict for c in claim_list)
    voting = [c for c in claim_list if c.verdict not in (DESCRIPTIVE, OUTSIDE)]
    if claim_list and k[OUTSIDE] == len(claim_list):
        return ("**These runs are outside the paper's regime** (a class's clean training accuracy is "
                "below 94%, more than one image missed in a class of fewer than 20): the paper's claims are "
                "about networks that memorise their training set, so these checks do not test them. The "
                "figures are shown for reference only.")
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


def stability(verdicts: list[str]) -> str:
    """In how many seeds a claim holds: "3 of 3 seeds" (beyond noise, or for each seed's one network)."""
    if all(v == DESCRIPTIVE for v in verdicts):
        return "descriptive"
    if all(v == OUTSIDE for v in verdicts):
        return "outside the regime"
    return f"{sum(v in (HOLDS, ONE_NET) for v in verdicts)} of {len(verdicts)} seeds"


def across_seeds(per_seed: dict[int, list[Claim]]):
    """One row per claim: in how many seeds it holds (beyond noise, and at all), and the
    verdicts; `per_seed` maps each seed to its claims (the same checks, in the same order)."""
    import pandas as pd
    seeds = sorted(per_seed)
    rows = []
    for i, first in enumerate(per_seed[seeds[0]]):
        verdicts = [per_seed[s][i].verdict for s in seeds]
        k = counts(verdicts)
        rows.append({"question": first.question, "claim": first.text,
                     "holds in (seeds)": stability(verdicts),
                     "holds at all in": f"{sum(k[v] for v in HOLDING)} of {len(seeds)}",
                     "verdicts": ", ".join(f"{n} {v}" for v, n in k.items() if n)})
    return pd.DataFrame(rows)
