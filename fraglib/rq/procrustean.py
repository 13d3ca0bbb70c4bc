"""Extension · Procrustean training, our interpretation of Ye, Zhan and Chao's abstract (no public
implementation exists; `fraglib/procrustean.py` states what we built): does it balance the minor
classes' under-fitting early in training, and improve test BAC?
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .. import measures as M
from ..claims import Claim, claim, fmt, ours_vs, vs
from ..config import PROCRUSTEAN_SITE, PROCRUSTEAN_STRENGTH
from ..figures import Figures, Question, Record

EARLY_SHARE = 4      # "early": the first quarter of the epochs (1 / EARLY_SHARE)
GRAD_SIZE = 2        # "much larger" feature gradients: at least 2x


@dataclass(frozen=True)
class Procrustean(Figures):
    """Plain cross-entropy against Procrustean training (procrustean.py), under exponential and
    step imbalance. Early = the first quarter of the epochs; minor classes = the last C//2 of the
    imbalance order, major = the first C//2. The balance figures are read on the *clean* training
    images (no mixing, eval mode), every epoch: on the mixed batches the network trains on, the
    major classes' accuracy falls by construction (their images are diluted), so a spread measured
    there shrinks whether or not the minor classes are fitted earlier; those figures are kept,
    labelled `mixed_`. History figures are one network's each; test BAC carries its bootstrap
    interval (the four runs share the test set: paired)."""

    ce_major_share_early: float | None = None   # CE (exp), clean images: % of minor-class images predicted major
    pt_major_share_early: float | None = None   # Procrustean (exp), %
    ce_grad_ratio_early: float | None = None    # CE (exp), clean: minor / major mean |dL/dfe|, early epochs
    pt_grad_ratio_early: float | None = None
    ce_acc_spread_early: float | None = None    # CE (exp), clean: spread (std) of per-class train accuracy, early
    pt_acc_spread_early: float | None = None
    mixed_ce_acc_spread_early: float | None = None   # the same on the training batches (mixed for Procrustean)
    mixed_pt_acc_spread_early: float | None = None
    mixed_ce_grad_ratio_early: float | None = None
    mixed_pt_grad_ratio_early: float | None = None
    ce_bac_exp: float | None = None             # test BAC (%)
    pt_bac_exp: float | None = None
    ce_bac_step: float | None = None
    pt_bac_step: float | None = None
    gain_exp: float | None = None               # Procrustean minus CE, points of BAC
    gain_step: float | None = None
    site: str = ""
    early_epochs: int | None = None
    curves: dict = field(default_factory=dict, repr=False, compare=False)  # "run:key" -> (epochs, C)


CLEAN_KEYS = {"clean_class_acc": "train_class_acc_augmented", "clean_major_share": "major_share",
              "clean_fe_grad_norm": "fe_grad_norm"}   # clean-image figure -> its training-batch twin


EARLY_CHOICE = ("early",)
EARLY = {"first quarter": lambda E: max(1, E // EARLY_SHARE), "epochs 1-2": lambda E: min(2, E)}   # multiverse's `early`


def compute(rec: Record, early: str = "first quarter") -> Procrustean:
    hist = {name: m["history"] for name, m in rec.metrics.items()}
    E = len(hist["ce_exp"])
    early = EARLY[early](E)
    C = len(hist["ce_exp"][0]["major_share"])
    major, minor = M.halves(C)
    keys = [*CLEAN_KEYS, *CLEAN_KEYS.values()]
    curves = {f"{name}:{key}": np.array([h[key] for h in hist[name]]) for name in hist for key in keys
              if key in hist[name][0]}   # the clean-image history: the exponential pair's

    def early_mean(name, key, cls):
        return float(curves[f"{name}:{key}"][:early, cls].mean())

    def grad_ratio(name, key):
        return early_mean(name, key, minor) / early_mean(name, key, major)

    def spread(name, key):
        return float(curves[f"{name}:{key}"][:early].std(axis=1).mean())

    y = rec.embeddings["ce_exp"].y_test
    rs = rec.resamples
    bac_rs = {name: rs.bac(em.pred_test == y) for name, em in rec.embeddings.items()}
    bac = {name: 100 * m["test_bac"] for name, m in rec.metrics.items()}
    boot = {"ce_bac_exp": bac_rs["ce_exp"], "pt_bac_exp": bac_rs["pt_exp"], "ce_bac_step": bac_rs["ce_step"],
            "pt_bac_step": bac_rs["pt_step"], "gain_exp": bac_rs["pt_exp"] - bac_rs["ce_exp"],
            "gain_step": bac_rs["pt_step"] - bac_rs["ce_step"]}
    return Procrustean(
        ce_major_share_early=100 * early_mean("ce_exp", "clean_major_share", minor),
        pt_major_share_early=100 * early_mean("pt_exp", "clean_major_share", minor),
        ce_grad_ratio_early=grad_ratio("ce_exp", "clean_fe_grad_norm"),
        pt_grad_ratio_early=grad_ratio("pt_exp", "clean_fe_grad_norm"),
        ce_acc_spread_early=spread("ce_exp", "clean_class_acc"), pt_acc_spread_early=spread("pt_exp", "clean_class_acc"),
        mixed_ce_acc_spread_early=spread("ce_exp", "train_class_acc_augmented"),
        mixed_pt_acc_spread_early=spread("pt_exp", "train_class_acc_augmented"),
        mixed_ce_grad_ratio_early=grad_ratio("ce_exp", "fe_grad_norm"),
        mixed_pt_grad_ratio_early=grad_ratio("pt_exp", "fe_grad_norm"),
        ce_bac_exp=bac["ce_exp"], pt_bac_exp=bac["pt_exp"], ce_bac_step=bac["ce_step"], pt_bac_step=bac["pt_step"],
        gain_exp=bac["pt_exp"] - bac["ce_exp"], gain_step=bac["pt_step"] - bac["ce_step"],
        site=rec.configs["pt_exp"].procrustean, early_epochs=early, curves=curves, boot=boot)


def check(o: Procrustean, p: Procrustean | None = None) -> list[Claim]:
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
              o, lambda f: f.ce_major_share_early > 50, choices=EARLY_CHOICE),
        claim("PT", f"... and their feature gradients are much larger (minor / major mean |dL/dfe|, {e})",
              "much larger", f"x{fmt(o.ce_grad_ratio_early)}", o,
              lambda f: f.ce_grad_ratio_early > 1, lambda f: f.ce_grad_ratio_early >= GRAD_SIZE, choices=EARLY_CHOICE),
        claim("PT", f"Procrustean training balances per-class training accuracy (spread across classes, {e})",
              "balanced", vs(o.pt_acc_spread_early, o.ce_acc_spread_early, ".3f") + " (ours vs CE)", o,
              lambda f: f.pt_acc_spread_early < f.ce_acc_spread_early, choices=EARLY_CHOICE),
        claim("PT", f"... and the feature-gradient norms (minor / major ratio closer to 1; {e})", "balanced",
              f"x{fmt(o.pt_grad_ratio_early)} vs x{fmt(o.ce_grad_ratio_early)} (CE)", o,
              lambda f: balanced_grads(f, "pt_grad_ratio_early", "ce_grad_ratio_early"), choices=EARLY_CHOICE),
        claim("PT", "... on the mixed training batches instead, where mixing lowers the major classes' accuracy "
                    "by construction (shown, not voting)", "balanced",
              vs(o.mixed_pt_acc_spread_early, o.mixed_ce_acc_spread_early, ".3f") + " (ours vs CE)", o,
              lambda f: f.mixed_pt_acc_spread_early < f.mixed_ce_acc_spread_early, descriptive=True, choices=EARLY_CHOICE),
        claim("PT", "Test BAC improves over CE (exponential imbalance)", "higher",
              ours_vs(o, "pt_bac_exp", "ce_bac_exp"), o, lambda f: f.pt_bac_exp > f.ce_bac_exp),
        claim("PT", "... most on step imbalance, where it must gain at all (gain in BAC points, step vs exponential)", "largest on step",
              ours_vs(o, "gain_step", "gain_exp"), o, lambda f: (f.gain_step > f.gain_exp) & (f.gain_step > 0)),
    ]


QUESTION = Question("PT", 10, "procrustean", "Extension · Procrustean training, our interpretation", "procrustean",
                    compute, check, scope="profile", needs_regime=False, choices=EARLY_CHOICE,
                    constants={"site": (PROCRUSTEAN_SITE, "where the batch is mixed (input or a mid-network feature map)"),
                               "strength": (PROCRUSTEAN_STRENGTH, "mixing weight of the largest class (the smallest: 0)"),
                               "early": (f"the first 1/{EARLY_SHARE} of the epochs", "what the claims call early"),
                               "grad_size": (f"{GRAD_SIZE}x", "'much larger' feature gradients")})
