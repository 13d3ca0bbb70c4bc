"""EOS and the other phase-2 samplers: geometry, balance, determinism; the gap measure."""
from __future__ import annotations

import numpy as np
import pytest

from fraglib import eos
from fraglib.heads import unpack_labels


def _imbalanced(seed=0, counts=(60, 20, 6), H=5):
    rng = np.random.default_rng(seed)
    fe = np.concatenate([rng.normal(loc=3 * c, size=(n, H)) for c, n in enumerate(counts)])
    y = np.repeat(np.arange(len(counts)), counts)
    return fe, y


def test_eos_points_lie_strictly_inside_segments_to_nearest_enemies():
    fe, y = _imbalanced()
    k = 4
    pts, lab, base, enemy, lam = eos.eos_samples(fe, y, 3, k=k, seed=0)
    assert len(pts) == (60 - 20) + (60 - 6)
    assert (y[base] == lab).all() and (y[enemy] != lab).all()  # enemies are of another class
    assert ((lam > 0) & (lam < 1)).all()
    np.testing.assert_allclose(pts, fe[base] + lam[:, None] * (fe[enemy] - fe[base]))
    assert not any((p == fe[b]).all() for p, b in zip(pts, base))  # never the point itself
    for b, e in zip(base, enemy):  # e is among b's k nearest points of other classes
        others = np.flatnonzero(y != y[b])
        d = np.linalg.norm(fe[others] - fe[b], axis=1)
        assert e in others[np.argsort(d)[:k]]


@pytest.mark.parametrize("name", ["eos", "ros", "smote"])
def test_oversamplers_balance_every_class(name):
    fe, y = _imbalanced()
    fe_b, y_b = eos.resample(name, fe, y, 3, seed=0)
    assert np.bincount(y_b).tolist() == [60, 60, 60]
    assert fe_b.shape == (180, fe.shape[1])
    np.testing.assert_array_equal(fe_b[:len(fe)], fe)  # the real samples are kept


def test_crt_draws_the_same_number_per_class():
    fe, y = _imbalanced()
    _, y_b = eos.resample("crt", fe, y, 3, seed=0)
    assert np.bincount(y_b).tolist() == [28, 28, 28]


@pytest.mark.parametrize("name", eos.SAMPLERS)
def test_same_seed_same_points(name):
    fe, y = _imbalanced()
    a, b = eos.resample(name, fe, y, 3, seed=7), eos.resample(name, fe, y, 3, seed=7)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_unknown_sampler_names_choices():
    with pytest.raises(ValueError, match="none, crt, ros, smote, eos"):
        eos.resample("adasyn", *_imbalanced(), 3)


def test_generalization_gap_by_hand():
    fe_train, y_train = np.array([[0.0, 0.0], [2.0, 0.0], [5.0, 5.0]]), np.array([0, 0, 1])
    fe_test, y_test = np.array([[1.0, 3.0], [1.0, 1.0], [5.0, 5.0]]), np.array([0, 0, 1])
    gap = eos.generalization_gap(fe_train, y_train, fe_test, y_test, 2)
    np.testing.assert_allclose(gap["mean_gap"], [2.0, 0.0])       # means (1,0)->(1,2); (5,5)->(5,5)
    np.testing.assert_allclose(gap["spread_train"], [1.0, 0.0])
    np.testing.assert_allclose(gap["spread_test"], [1.0, 0.0])


def test_compare_reports_every_sampler():
    fe, y = _imbalanced(counts=(80, 30, 10))
    fe_t, y_t = _imbalanced(seed=1, counts=(20, 20, 20))
    from fraglib.heads import HeadRegime
    rows = eos.compare(fe, y, fe_t, y_t, 3, seed=0, regime=HeadRegime(epochs=300))  # 120 points: 1 step an epoch
    assert [r["sampler"] for r in rows] == list(eos.SAMPLERS)
    for r in rows:
        assert 0 <= r["bac"] <= 1 and len(r["class_acc"]) == 3 and r["sampling_seconds"] >= 0
    assert max(r["bac"] for r in rows) > 0.9  # well-separated blobs


def test_the_authors_neighbourhood_takes_any_class_and_sometimes_the_point_itself():
    """The authors' code: partners among the k nearest neighbours of any class, the point itself
    first among them (an index slip), so some synthetic points are copies of their base."""
    fe, y = _imbalanced()
    k = 4
    _, lab, base, partner, _ = eos.eos_samples(fe, y, 3, k=k, seed=0, neighbourhood="authors")
    assert (partner == base).any() and (y[partner] == lab).any()       # itself, and same-class partners
    for b, p in zip(base, partner):                                    # among its k nearest of any class
        d = np.linalg.norm(fe - fe[b], axis=1)
        assert p in np.argsort(d)[:k]
    with pytest.raises(ValueError, match="enemies, authors"):
        eos.eos_samples(fe, y, 3, neighbourhood="near")


def test_phase_three_fine_tunes_the_phase_one_head():
    """The EOS abstract fine-tunes the classifier head: phase 3 starts from the phase-1 head's (W, b),
    so with no step taken it predicts as that head does (a fresh head would not)."""
    from fraglib.heads import HeadRegime
    rng = np.random.default_rng(0)
    fe, y = rng.random((60, 4)), np.repeat([0, 1, 2], 20)
    fe_t, y_t = rng.random((30, 4)), np.repeat([0, 1, 2], 10)
    W, b = rng.normal(size=(3, 4)), rng.normal(size=3)
    row, = eos.compare(fe, y, fe_t, y_t, 3, samplers=("none",), init=(W, b), regime=HeadRegime(epochs=0))
    assert unpack_labels(row["pred"]).tolist() == (fe_t @ W.T + b).argmax(1).tolist()
    assert eos.FINETUNE.lr < HeadRegime().lr            # fine-tuning moves the head less than a fresh fit


def test_phase_three_grid_is_chosen_on_the_validation_split_and_holds_the_fixed_schedules():
    """The grid's rows at the fixed schedules are `compare`'s (fine-tuned and fresh); each sampler and
    head has one chosen point, the one with the best validation BAC (the fixed one on a tie); a run
    without a validation split has no grid."""
    fe, y = _imbalanced(counts=(80, 30, 10))
    fe_v, y_v = _imbalanced(seed=2, counts=(8, 3, 1))
    fe_t, y_t = _imbalanced(seed=1, counts=(20, 20, 20))
    rng = np.random.default_rng(0)
    init = (rng.normal(size=(3, 5)), rng.normal(size=3))
    rows = eos.grid(fe, y, fe_v, y_v, fe_t, y_t, 3, init, samplers=("ros", "eos"), seed=0, k=3)
    assert len(rows) == 2 * 2 * len(eos.GRID_LR) * len(eos.GRID_EPOCHS)
    for head, start in (("fine-tuned", init), ("fresh head", None)):
        fixed = {r["sampler"]: r for r in rows if r["phase3"] == head and r["fixed"]}
        ref = eos.compare(fe, y, fe_t, y_t, 3, samplers=("ros", "eos"), seed=0, k=3, init=start)
        assert {s: r["bac"] for s, r in fixed.items()} == {r["sampler"]: r["bac"] for r in ref}
        for s in ("ros", "eos"):
            points = [r for r in rows if r["phase3"] == head and r["sampler"] == s]
            chosen, = [r for r in points if r["chosen"]]
            top = max(r["val_bac"] for r in points)
            assert chosen["val_bac"] == top and len(unpack_labels(chosen["pred"])) == len(y_t)
            if fixed[s]["val_bac"] == top:
                assert chosen["fixed"]
            assert all(r["pred"] is None for r in points if not r["chosen"])
    with pytest.raises(ValueError, match="validation split"):
        eos.grid(fe, y, fe_v[:0], y_v[:0], fe_t, y_t, 3, init)
