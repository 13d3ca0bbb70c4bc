"""Extension · EOS three-phase training (Dablain et al.'s EOS): the generalization gap in fe, and
phases 2-3 (re-sampling in embedding space, then the head) against end-to-end training.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import eos
from .. import measures as M
from ..bootstrap import matched_means
from ..claims import Claim, claim, ours_vs
from ..figures import Analysis, Array, Figures, KeyFigure, Question, Record, arr, majority_minority
from ..heads import unpack_labels

K_ENEMIES = 10   # EOS's neighbourhood: the k nearest enemies (the authors' default)


@dataclass(frozen=True)
class EOS(Figures):
    """The EOS extension: the generalization gap in fe, and three-phase training (test BAC, %)."""

    gap_majority: float | None = None     # |mean train fe - mean test fe| of the majority (imbalanced)
    gap_minority: float | None = None
    gap_majority_matched: float | None = None  # ... its train mean over n_min drawn images (mean over draws)
    gap_minority_matched: float | None = None  # the minority at its own size: its observed gap (no resamples:
                                               # its few images are the noise the draws are judged against)
    n_matched: int | None = None          # the minority's training images: the control's size
    e2e_bac: float | None = None          # phase 1 alone: the end-to-end imbalanced model
    eos_bac: float | None = None          # phases 2-3 with EOS
    best_other_bac: float | None = None   # the best of ROS, SMOTE and cRT
    eos_authors_bac: float | None = None  # EOS with the authors' code's neighbourhood (any class, itself)
    eos_fresh_bac: float | None = None    # EOS with a fresh head in phase 3 instead of the fine-tuned one
    gap: Array = arr()                   # (C,) imbalanced run
    bal_gap: Array = arr()
    spread_train: Array = arr()
    spread_test: Array = arr()
    samplers: tuple = ()                  # rows of eos.compare: sampler, bac, class_acc, n_train, seconds
    grid: tuple = ()                      # phase 3 over lr x epochs (eos.grid, without predictions); () without
                                          # a validation split


def _compare(emb, seed: int, k_enemies: int, samplers, neighbourhood: str, finetune: bool = True) -> list[dict]:
    """Phases 2-3 on a run's embeddings, in the head's effective operands (a cosine head's s·fe/|fe|
    and W/|W|; for a linear head, fe and W): phase 3 fine-tunes the phase-1 head (`finetune`) or
    fits a fresh one."""
    init = (emb.weight_eff, emb.bias) if finetune else None
    return eos.compare(emb.fe_eff_train, emb.y_train, emb.fe_eff_test, emb.y_test, emb.num_classes,
                       samplers=samplers, seed=seed, k=k_enemies, neighbourhood=neighbourhood, init=init)


# Phases 2-3 for every sampler on the imbalanced run's training fe (phase 3 fine-tunes the phase-1
# head), with each sampler's test predictions (for the bootstrap); then EOS with the neighbourhood
# of the authors' code, and EOS with a fresh head (the book's earlier phase 3), beside it.
EOS_ROWS = Analysis("eos", "imbalanced",
                    lambda emb, seed, k_enemies=K_ENEMIES, **_: _compare(emb, seed, k_enemies, eos.SAMPLERS, "enemies"),
                    lambda k_enemies=K_ENEMIES, **_: {"k_enemies": k_enemies, "samplers": list(eos.SAMPLERS),
                                               "rows": "bac+pred", "phase3": "finetune", "operands": "effective"})
EOS_AUTHORS = Analysis("eos-authors", "imbalanced",
                       lambda emb, seed, k_enemies=K_ENEMIES, **_: _compare(emb, seed, k_enemies, ("eos",), "authors"),
                       lambda k_enemies=K_ENEMIES, **_: {"k": k_enemies, "neighbourhood": "authors", "phase3": "finetune",
                                                  "operands": "effective"})
EOS_FRESH = Analysis("eos-fresh", "imbalanced",
                     lambda emb, seed, k_enemies=K_ENEMIES, **_: _compare(emb, seed, k_enemies, eos.SAMPLERS, "enemies",
                                                                          False),
                     lambda k_enemies=K_ENEMIES, **_: {"k": k_enemies, "phase3": "fresh head", "operands": "effective",
                                                       "samplers": list(eos.SAMPLERS), "rows": "bac+pred"})


def _grid(emb, seed: int, k_enemies: int):
    """Phase 3 over the grid of learning rates x epochs, both heads, chosen on the validation split
    (`eos.grid`); None for a run without one (the paper's protocol)."""
    if not len(emb.y_val):
        return None
    return eos.grid(emb.fe_eff_train, emb.y_train, emb.fe_eff_val, emb.y_val, emb.fe_eff_test, emb.y_test,
                    emb.num_classes, (emb.weight_eff, emb.bias), seed=seed, k=k_enemies)


EOS_GRID = Analysis("eos-grid", "imbalanced", lambda emb, seed, k_enemies=K_ENEMIES, **_: _grid(emb, seed, k_enemies),
                    lambda k_enemies=K_ENEMIES, **_: {"k": k_enemies, "lr": list(eos.GRID_LR),
                                                      "epochs": list(eos.GRID_EPOCHS),
                                                      "samplers": list(eos.GRID_SAMPLERS), "operands": "effective",
                                                      "chosen on": "validation BAC"})


def phase3_rows(rec: Record, eos_phase3: str = "fine-tuned", eos_schedule: str = "fixed") -> list[dict]:
    """Phase 3's row per sampler under the two choices: the head (fine-tuned or fresh) and its
    schedule (the fixed one, or the grid's point chosen on the validation split, where the grid
    covers the sampler; `none` keeps its fixed row). LookupError where a run has no validation split."""
    rows = rec.analyses["eos"] if eos_phase3 == "fine-tuned" else rec.analyses["eos-fresh"]
    if eos_schedule == "fixed":
        return list(rows)
    if rec.analyses.get("eos-grid") is None:
        raise LookupError("EOS phase 3's schedule chosen on the validation split: the run has no validation split")
    y, C = rec.embeddings["imbalanced"].y_test, rec.embeddings["imbalanced"].num_classes
    chosen = {r["sampler"]: r for r in rec.analyses["eos-grid"] if r["chosen"] and r["phase3"] == eos_phase3}
    return [dict(r, bac=chosen[s]["bac"], pred=chosen[s]["pred"], lr=chosen[s]["lr"], epochs=chosen[s]["epochs"],
                 class_acc=M.per_class_accuracy(y, unpack_labels(chosen[s]["pred"]), C).tolist())
            if (s := r["sampler"]) in chosen else r for r in rows]


def _shared(rec: Record) -> dict:
    """What EOS's figures read under every specification, made once per network
    (`Resample.cached`): the generalization gaps, observed and resampled, and the size-matched
    control (a mean over 9 images lies further from any other mean than one over 900, so the
    majority's training mean is drawn at the minority's size)."""
    eb, ei = rec.pair()
    rs = rec.resamples
    maj, mnr = majority_minority(ei.num_classes)
    n_min = int((ei.y_train == mnr).sum())
    mu_test = M.class_means(ei.fe_test, ei.y_test, ei.num_classes)
    drawn = matched_means(ei.fe_train, ei.y_train, [n_min if c == maj else 0 for c in range(ei.num_classes)],
                          rs.B, rec.seed)[:, maj]
    return {"gi": eos.generalization_gap(ei.fe_train, ei.y_train, ei.fe_test, ei.y_test, ei.num_classes),
            "gb": eos.generalization_gap(eb.fe_train, eb.y_train, eb.fe_test, eb.y_test, eb.num_classes),
            "gap_rs": np.linalg.norm(rs.train_imb.means(ei.fe_train, key="fe") - rs.test_imb.means(ei.fe_test, key="fe_imb"),
                                     axis=2),
            "gap_matched": np.linalg.norm(drawn - mu_test[maj], axis=1), "n_min": n_min}


def _bac_boot(rs, pred, y_test, labels=None) -> np.ndarray:
    """The resampled test BAC of one set of predictions (a head's packed `pred`, or `labels` under
    a name), once per network."""
    return rs.test_imb.cached(f"eos_bac {pred}", lambda: rs.test_imb.bac(
        (unpack_labels(pred) if labels is None else labels) == y_test))


def compute(rec: Record, eos_phase3: str = "fine-tuned", eos_schedule: str = "fixed") -> EOS:
    """Two analysis choices (multiverse.py), for EOS and every other sampler alike: `eos_phase3`,
    phase 3 fine-tunes the phase-1 head (EOS's abstract) or fits a fresh one; `eos_schedule`, its
    learning rate and epochs are the book's fixed ones or the grid's point with the best
    validation BAC (`phase3_rows`)."""
    eb, ei = rec.pair()
    rs = rec.resamples
    maj, mnr = majority_minority(ei.num_classes)
    sh = rs.test_imb.cached("eos", lambda: _shared(rec))   # the same under every specification
    gi, gb, gap_rs, gap_matched, n_min = sh["gi"], sh["gb"], sh["gap_rs"], sh["gap_matched"], sh["n_min"]
    fresh = {r["sampler"]: r for r in rec.analyses["eos-fresh"]}
    chosen = phase3_rows(rec, eos_phase3, eos_schedule)
    rows = list(chosen) + [dict(rec.analyses["eos-authors"][0], sampler="eos-authors"),
                           dict(fresh["eos"], sampler="eos, fresh head")]
    bac = {r["sampler"]: 100 * r["bac"] for r in rows}
    others = ("ros", "smote", "crt")
    # each head's resampled BAC once per network: most rows are the same under several specifications
    bac_rs = {r["sampler"]: _bac_boot(rs, r["pred"], ei.y_test) for r in rows}
    boot = {"gap": gap_rs, "gap_majority": gap_rs[:, maj], "gap_minority": gap_rs[:, mnr],
            "gap_majority_matched": gap_matched,
            "e2e_bac": _bac_boot(rs, "end-to-end", ei.y_test, ei.pred_test), "eos_bac": bac_rs["eos"],
            "best_other_bac": np.max([bac_rs[s] for s in others], axis=0), "eos_authors_bac": bac_rs["eos-authors"],
            "eos_fresh_bac": bac_rs["eos, fresh head"]}
    return EOS(gap_majority=float(gi["mean_gap"][maj]), gap_minority=float(gi["mean_gap"][mnr]),
               gap_majority_matched=float(gap_matched.mean()), gap_minority_matched=float(gi["mean_gap"][mnr]),
               n_matched=n_min,
               e2e_bac=100 * rec.metrics["imbalanced"]["test_bac"], eos_bac=bac["eos"],
               best_other_bac=max(bac[s] for s in others), eos_authors_bac=bac["eos-authors"],
               eos_fresh_bac=bac["eos, fresh head"], gap=gi["mean_gap"],
               bal_gap=gb["mean_gap"], spread_train=gi["spread_train"], spread_test=gi["spread_test"],
               samplers=tuple(rows), boot=boot,
               grid=tuple({k: v for k, v in r.items() if k != "pred"} for r in rec.analyses.get("eos-grid") or ()))


def check(o: EOS, p: EOS) -> list[Claim]:
    raw = claim("EOS", "The train-test gap in fe is wider for the minority class than the majority (raw: the "
                       "minority's training mean is over far fewer images)", "wider for minority classes",
                ours_vs(o, "gap_minority", "gap_majority", ".3f"), o, lambda f: f.gap_minority > f.gap_majority,
                descriptive=True)
    return [
        raw,
        claim("EOS", f"... and still with the majority's training mean over {o.n_matched} drawn images "
                     f"(size-matched control: the observed minority gap against the majority's draws)", "–",
              ours_vs(o, "gap_minority_matched", "gap_majority_matched", ".3f"), o,
              lambda f: f.gap_minority_matched > f.gap_majority_matched, uncontrolled=raw),
        claim("EOS", "Three-phase training with EOS beats the end-to-end imbalanced model",
              "higher BAC", ours_vs(o, "eos_bac", "e2e_bac"), o, lambda f: f.eos_bac > f.e2e_bac,
              choices=("eos_phase3", "eos_schedule")),
        claim("EOS", "EOS beats re-sampling in embedding space (best of ROS, SMOTE, cRT)",
              "higher BAC", ours_vs(o, "eos_bac", "best_other_bac"), o, lambda f: f.eos_bac > f.best_other_bac,
              choices=("eos_phase3", "eos_schedule")),
    ]


QUESTION = Question(
    "EOS", 8, "eos", "Extension · EOS three-phase training", "pair", compute, check, {},
    KeyFigure("Test BAC (%) of three-phase training with EOS, the best other sampler and the end-to-end network.",
              "test BAC (%)", bars=(("e2e_bac", "end-to-end"), ("eos_bac", "EOS"), ("best_other_bac", "best other sampler"))),
    analyses=(EOS_ROWS, EOS_AUTHORS, EOS_FRESH, EOS_GRID), choices=("eos_phase3", "eos_schedule"), constants={
        "k_enemies": (K_ENEMIES, "EOS: nearest enemies a synthetic point is drawn towards"),
        "finetune_epochs": (eos.FINETUNE.epochs, "EOS phase 3: epochs of fine-tuning the phase-1 head"),
        "finetune_lr": (eos.FINETUNE.lr, "EOS phase 3: its learning rate")})
