"""EOS: three-phase training with Expansive Over-Sampling (Dablain et al., arXiv 2207.06080).

Phase 1 is a stored imbalanced run (its extractor and head). Phase 2 re-balances the training
set *in embedding space*; phase 3 fine-tunes the phase-1 head on the balanced embeddings (as the
EOS abstract says: "fine-tuning the classifier head"; a fresh head is the option `init=None`) and
scores it on the test set's fe. Phase-2 samplers, side by side:

- `eos`:   a synthetic point is a convex combination x + lam * (e - x), lam in (0, 1), of a
           minority sample x and one of its k nearest *enemies* e (nearest neighbours of another
           class), found with scikit-learn's NearestNeighbors;
- `ros`:   random over-sampling (imbalanced-learn);
- `smote`: SMOTE in embedding space (imbalanced-learn): combinations with same-class neighbours;
- `crt`:   class-balanced re-sampling of the same total size (Kang et al.'s cRT);
- `none`:  the imbalanced embeddings as they are (a fresh head, no re-balancing).

Also here: the generalization gap in embedding space per class (train vs test fe).
"""
from __future__ import annotations

import time

import numpy as np

from .heads import HeadRegime, fit_linear_head, fit_linear_heads, head_bac, pack_labels
from .measures import balanced_accuracy, class_means, per_class_accuracy

SAMPLERS = ("none", "crt", "ros", "smote", "eos")
# where EOS draws the partner of a minority sample: "enemies", the paper's definition (its k
# nearest neighbours of *other* classes); "authors", what the authors' code does (one of its k
# nearest neighbours of *any* class, and through an index slip, the first of them being the
# point itself, sometimes the point itself)
NEIGHBOURHOODS = ("enemies", "authors")


# -- the generalization gap --------------------------------------------------------------------

def generalization_gap(fe_train, y_train, fe_test, y_test, num_classes: int) -> dict:
    """Per class: the distance between train and test class-mean fe, and each set's spread (mean
    distance of the class's fe to its own mean). Arrays of shape (C,)."""
    fe_train, fe_test = np.asarray(fe_train, np.float64), np.asarray(fe_test, np.float64)
    mu_tr, mu_te = class_means(fe_train, y_train, num_classes), class_means(fe_test, y_test, num_classes)

    def spread(fe, y, mu):
        d = np.linalg.norm(fe - mu[y], axis=1)
        return class_means(d[:, None], y, num_classes)[:, 0]

    return {"mean_gap": np.linalg.norm(mu_tr - mu_te, axis=1),
            "spread_train": spread(fe_train, np.asarray(y_train), mu_tr),
            "spread_test": spread(fe_test, np.asarray(y_test), mu_te)}


# -- phase 2: samplers -----------------------------------------------------------------------------

def _deficits(y, num_classes):
    counts = np.bincount(y, minlength=num_classes)
    return counts, counts.max() - counts


def eos_samples(fe, y, num_classes: int, k: int = 10, seed: int = 0, neighbourhood: str = "enemies"):
    """Synthetic points for every class short of the largest, with their provenance.

    Returns (points, labels, base_index, enemy_index, lam): point = fe[base] + lam * (fe[enemy] -
    fe[base]), 0 < lam < 1, with enemy among base's k nearest enemies (y[enemy] != y[base]); with
    `neighbourhood="authors"`, among base's k nearest neighbours of any class, itself included."""
    from sklearn.neighbors import NearestNeighbors
    if neighbourhood not in NEIGHBOURHOODS:
        raise ValueError(f"Unknown EOS neighbourhood {neighbourhood!r}; valid choices: {', '.join(NEIGHBOURHOODS)}")
    fe, y = np.asarray(fe, np.float64), np.asarray(y)
    rng = np.random.default_rng(seed)
    _, deficit = _deficits(y, num_classes)
    points, labels, bases, enemies, lams = [], [], [], [], []
    for c in np.flatnonzero(deficit):
        members = np.flatnonzero(y == c)
        others = np.flatnonzero(y != c) if neighbourhood == "enemies" else np.arange(len(y))
        kk = min(k, len(others))
        nn = NearestNeighbors(n_neighbors=kk).fit(fe[others])
        _, nbr = nn.kneighbors(fe[members])                 # (n_c, kk) indices into `others`
        pick = rng.integers(0, len(members), deficit[c])    # which minority samples
        which = rng.integers(0, kk, deficit[c])             # which of their enemies
        base, enemy = members[pick], others[nbr[pick, which]]
        lam = rng.uniform(np.nextafter(0.0, 1.0), 1.0, deficit[c])  # strictly inside the segment
        points.append(fe[base] + lam[:, None] * (fe[enemy] - fe[base]))
        labels.append(np.full(deficit[c], c))
        bases.append(base), enemies.append(enemy), lams.append(lam)
    if not points:
        empty = np.zeros(0, int)
        return np.zeros((0, fe.shape[1])), empty, empty, empty, np.zeros(0)
    return (np.concatenate(points), np.concatenate(labels), np.concatenate(bases),
            np.concatenate(enemies), np.concatenate(lams))


def resample(name: str, fe, y, num_classes: int, seed: int = 0, k: int = 10, neighbourhood: str = "enemies"):
    """Phase 2: a re-balanced (fe, y) by the named sampler."""
    if name not in SAMPLERS:
        raise ValueError(f"Unknown sampler {name!r}; valid choices: {', '.join(SAMPLERS)}")
    fe, y = np.asarray(fe, np.float64), np.asarray(y)
    if name == "none":
        return fe, y
    if name == "crt":  # class-balanced sampling with replacement, same total size
        rng = np.random.default_rng(seed)
        per = len(y) // num_classes
        idx = np.concatenate([rng.choice(np.flatnonzero(y == c), per) for c in range(num_classes)])
        return fe[idx], y[idx]
    if name == "eos":
        pts, lab, *_ = eos_samples(fe, y, num_classes, k, seed, neighbourhood)
        return np.concatenate([fe, pts]), np.concatenate([y, lab])
    from imblearn.over_sampling import SMOTE, RandomOverSampler
    if name == "ros":
        return RandomOverSampler(random_state=seed).fit_resample(fe, y)
    k_smote = max(1, min(5, np.bincount(y, minlength=num_classes).min() - 1))
    return SMOTE(k_neighbors=k_smote, random_state=seed).fit_resample(fe, y)


# -- phase 3 -----------------------------------------------------------------------------------

# phase 3's fine-tuning of the phase-1 head: a tenth of the fresh head's learning rate, a third of
# its epochs (it starts from a head that already separates the classes)
FINETUNE = HeadRegime(epochs=10, lr=0.01)


def compare(fe_train, y_train, fe_test, y_test, num_classes: int, samplers=SAMPLERS, seed: int = 0,
            k: int = 10, regime: HeadRegime | None = None, neighbourhood: str = "enemies", init=None) -> list[dict]:
    """Phases 2 and 3 for each sampler: test BAC, per-class accuracy, test predictions, sizes and
    seconds. `init` = the phase-1 head's (W, b), fine-tuned with FINETUNE; None: a fresh head
    (HeadRegime())."""
    regime = regime or (FINETUNE if init is not None else HeadRegime())
    rows = []
    for name in samplers:
        t0 = time.perf_counter()
        fe_b, y_b = resample(name, fe_train, y_train, num_classes, seed, k, neighbourhood)
        t1 = time.perf_counter()
        W, b = fit_linear_head(fe_b, y_b, num_classes, seed=seed, regime=regime, init=init)
        t2 = time.perf_counter()
        pred = (np.asarray(fe_test) @ W.T + b).argmax(1)
        rows.append({"sampler": name, "bac": head_bac(W, b, fe_test, y_test, num_classes),
                     "class_acc": per_class_accuracy(y_test, pred, num_classes).tolist(), "pred": pack_labels(pred),
                     "n_train": int(len(y_b)), "sampling_seconds": t1 - t0, "head_seconds": t2 - t1})
    return rows


# -- phase 3's learning rate and epochs, chosen on the validation split ---------------------------

# the grid: the fine-tuned head's fixed point (FINETUNE: lr 0.01, 10 epochs) and the fresh head's
# (HeadRegime(): lr 0.1, 30 epochs) are both on it, so the grid's rows there are `compare`'s
GRID_LR = (0.001, 0.01, 0.1)
GRID_EPOCHS = (5, 10, 30)
GRID_SAMPLERS = ("crt", "ros", "smote", "eos")   # what the claims compare (`none` is no re-balancing)
PHASE3 = {"fine-tuned": FINETUNE, "fresh head": HeadRegime()}   # phase 3's head: its fixed schedule


def grid(fe_train, y_train, fe_val, y_val, fe_test, y_test, num_classes: int, init, samplers=GRID_SAMPLERS,
         seed: int = 0, k: int = 10, neighbourhood: str = "enemies") -> list[dict]:
    """Phase 3 at every learning rate x epochs of the grid, for each sampler and each head (the
    phase-1 head `init` fine-tuned, and a fresh one): one row per point with its validation and
    test BAC. Per sampler and head the point with the best validation BAC is `chosen` (ties: the
    fixed schedule where it is among them, else the least training, lr then epochs) and carries
    its test predictions (for the bootstrap, `heads.pack_labels`). Each sampler re-balances once
    (the same draw as `compare`'s), so the grid's rows at a fixed schedule are `compare`'s."""
    if not len(y_val):
        raise ValueError("phase 3's grid is chosen on a validation split; this run has none (the paper's protocol)")
    regimes = [HeadRegime(epochs=epochs, lr=lr) for lr in GRID_LR for epochs in GRID_EPOCHS]
    rows = []
    for name in samplers:
        fe_b, y_b = resample(name, fe_train, y_train, num_classes, seed, k, neighbourhood)
        for head, fixed in PHASE3.items():
            start = init if head == "fine-tuned" else None
            others = [r for r in regimes if r != fixed]       # fitted side by side; the fixed one alone, as
            heads = dict(zip(others, fit_linear_heads(fe_b, y_b, num_classes, seed, others, start)))   # `compare`
            heads[fixed] = fit_linear_head(fe_b, y_b, num_classes, seed=seed, regime=fixed, init=start)
            points = []
            for regime in regimes:
                W, b = heads[regime]
                pred = (np.asarray(fe_test) @ W.T + b).argmax(1)
                points.append({"sampler": name, "phase3": head, "lr": regime.lr, "epochs": regime.epochs,
                               "fixed": regime == fixed, "val_bac": head_bac(W, b, fe_val, y_val, num_classes),
                               "bac": balanced_accuracy(y_test, pred, num_classes), "pred": pred})
            top = max(p["val_bac"] for p in points)
            best = [p for p in points if p["val_bac"] == top]
            chosen = next((p for p in best if p["fixed"]), best[0])
            for p in points:
                p["chosen"] = p is chosen
                p["pred"] = pack_labels(p["pred"]) if p["chosen"] else None
            rows += points
    return rows
