"""The bootstrap over instances and the size-matched control draws."""
from __future__ import annotations

import numpy as np

from fraglib.bootstrap import Resample, interval, matched_draws


def test_resamples_keep_every_class_size_and_are_seeded():
    y = np.repeat([0, 1, 2], [50, 20, 5])
    rs = Resample(y, 3, B=300, seed=4)
    for c, w in enumerate(rs.weights):
        assert w.shape == (300, rs.sizes[c]) and (w.sum(1) == rs.sizes[c]).all()   # stratified
    again = Resample(y, 3, B=300, seed=4)
    assert all((a == b).all() for a, b in zip(rs.weights, again.weights))
    other = Resample(y, 3, B=300, seed=5)
    assert any((a != b).any() for a, b in zip(rs.weights, other.weights))


def test_resampled_class_means_match_the_draws():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 3, 60)
    v = rng.normal(size=(60, 4))
    rs = Resample(y, 3, B=50, seed=1)
    m = rs.means(v)
    for c in range(3):
        idx = rs.members[c]
        expected = (rs.weights[c] @ v[idx]) / len(idx)
        assert np.allclose(m[:, c], expected, atol=1e-5)
    # grouping the same instances otherwise: group means are count-weighted sums
    g = np.where(v[:, 0] > 0, 1, -1)
    mg = rs.means(v[:, 1], groups=g, num_groups=2)
    assert np.isnan(mg[:, 0]).all() and np.isfinite(mg[:, 1]).all()


def test_interval_of_a_proportion_matches_the_binomial_spread():
    y = np.zeros(400, int)
    hits = (np.arange(400) < 120).astype(float)          # p = 0.3
    rs = Resample(y, 1, B=2000, seed=0)
    lo, hi = interval(rs.means(hits)[:, 0])
    half = 1.96 * np.sqrt(0.3 * 0.7 / 400)
    assert abs((hi - lo) / 2 - half) < 0.2 * half and lo < 0.3 < hi


def test_bac_resamples_center_on_the_observed_bac():
    y = np.repeat([0, 1], [100, 100])
    correct = np.r_[np.ones(90), np.zeros(10), np.ones(50), np.zeros(50)]
    bac = Resample(y, 2, B=1000, seed=0).bac(correct)
    assert abs(np.median(bac) - 70) < 1.5 and bac.std() > 1


def test_size_matched_draws_are_without_replacement_and_the_minority_is_itself():
    y = np.repeat([0, 1], [100, 6])
    draws = matched_draws(y, 2, n=6, draws=200, seed=0)
    assert draws[0].shape == (200, 6) and all(len(set(row)) == 6 for row in draws[0])
    assert set(draws[0].ravel()) <= set(range(100)) and len(set(draws[0].ravel())) > 50
    assert (np.sort(draws[1], axis=1) == np.arange(100, 106)).all()


def test_grouped_sums_and_code_counts_agree_with_the_weights_written_out():
    rng = np.random.default_rng(3)
    y, codes = rng.integers(0, 3, 80), rng.integers(0, 5, 80)
    groups = np.where(rng.random(80) < 0.3, -1, rng.integers(0, 4, 80))
    v = rng.normal(size=(80, 2))
    rs = Resample(y, 3, B=40, seed=2)
    w = np.zeros((40, 80))                          # every instance's weight in every resample
    for c, idx in enumerate(rs.members):
        w[:, idx] = rs.weights[c]
    sums, count = rs.sums(v, groups=groups, num_groups=4)
    for g in range(4):
        assert np.allclose(sums[:, g], w[:, groups == g] @ v[groups == g], atol=1e-4)
        assert np.allclose(count[:, g], w[:, groups == g].sum(1))
    hist = rs.code_counts(codes, 5)
    for c in range(3):
        for k in range(5):
            assert np.allclose(hist[:, c, k], w[:, (y == c) & (codes == k)].sum(1))
