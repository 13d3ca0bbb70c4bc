"""The measures on hand-made examples worked out by hand, and their properties."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fraglib.measures as M


def test_balanced_accuracy_by_hand():
    y, pred = [0, 0, 1, 1, 1, 1], [0, 1, 1, 1, 1, 0]
    assert M.per_class_accuracy(y, pred, 2).tolist() == [0.5, 0.75]
    assert M.balanced_accuracy(y, pred, 2) == 0.625


def test_instance_top_k_by_hand():
    W = np.array([[1.0, 1.0, 1.0], [0.0, 0.0, 1.5]])
    fe = np.array([[3.0, 1.0, 0.0],    # lg = [4, 0]:   ce_r sorted [3, 1, 0], 3 > 0     -> K* = 1
                   [0.0, 2.0, 2.0]])   # lg = [4, 3]:   cumsum [2, 4, 4], 4 > 3 first at -> K* = 2
    assert M.instance_top_k(fe, W, np.zeros(2)).tolist() == [1, 2]
    # with a bias: lg = [4, 3.5]; b_r = 0 so the same cumsums must beat 3.5 -> [1, 2]
    assert M.instance_top_k(fe, W, np.array([0.0, 0.5])).tolist() == [1, 2]
    # b_r counts too: b = [-1.5, 0] -> n0: [1.5, ...] > 0 -> 1; n1: lg = [2.5, 3] so r = 1:
    # ce_r = [0, 0, 3] sorted [3, 0, 0], cumsum + 0 = 3 > 2.5 -> K* = 1
    assert M.instance_top_k(fe, W, np.array([-1.5, 0.0])).tolist() == [1, 1]


def test_tied_instance_gets_h_plus_one_and_negative_ce_counts():
    W = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert M.instance_top_k(np.array([[1.0, 1.0, 0.0]]), W, np.zeros(2)).tolist() == [4]
    # a negative ce: top-2 sum (4) exceeds the full sum (1); lg = [1, 0.9]
    W = np.array([[2.0, 2.0, -3.0], [0.9, 0.0, 0.0]])
    fe = np.array([[1.0, 1.0, 1.0]])
    assert M.instance_top_k(fe, W, np.zeros(2)).tolist() == [1]


def test_coverage_by_hand():
    kstar, y = np.array([1, 2, 4]), np.array([0, 0, 1])
    assert M.top_k_coverage(kstar, [1, 2, 3]) == pytest.approx([1 / 3, 2 / 3, 2 / 3])
    assert M.class_top_k_coverage(kstar, y, [1, 2, 3], 2).tolist() == [[0.5, 1, 1], [0, 0, 0]]


def test_members_counts_and_features_to_describe_by_hand():
    values = np.array([[5.0, 1.0, 3.0, 2.0], [0.0, 4.0, 4.5, 1.0]])
    members = M.top_k_members(values, 2)
    assert [set(m) for m in members.tolist()] == [{0, 2}, {1, 2}]
    counts = M.member_counts(members, np.array([0, 0]), 1, 4)
    assert counts.tolist() == [[1, 1, 2, 0]]
    top, n = M.class_top_members(counts, 4)
    assert top.tolist() == [[2, 0, 1, -1]] and n.tolist() == [[2, 1, 1, 0]]
    ids, ratio = M.class_top_k_coverage_ratio(counts, [2], 3)
    assert ids.tolist() == [[2, 0, 1]] and ratio.tolist() == [[1.0, 0.5, 0.5]]
    assert M.features_to_describe(counts).tolist() == [3]


def test_class_mean_magnitudes_and_table3_by_hand():
    fe, y = np.array([[1.0, 2.0], [3.0, 4.0]]), np.array([0, 1])
    W = np.array([[1.0, -1.0], [2.0, 0.0]])
    mean_ce = M.class_mean_ce(fe, W, y, 2)
    assert mean_ce.tolist() == [[1.0, -2.0], [6.0, 0.0]]
    assert M.largest_class_ce(mean_ce, majority=0) == {"majority": 1.0, "others": 6.0, "ratio": 6.0}
    top, idx = M.top_values(mean_ce, 2)
    assert top.tolist() == [[1.0, -2.0], [6.0, 0.0]] and idx.tolist() == [[0, 1], [0, 1]]
    w_top, w_sum = M.weight_magnitudes(W, 1)
    assert w_top.tolist() == [[1.0], [2.0]] and w_sum.tolist() == [1.0, 2.0]


def test_top_ce_share_by_hand():
    fe, W, b = np.array([[1.0, 2.0]]), np.array([[1.0, 1.0], [0.0, 0.0]]), np.array([1.0, 0.0])
    # lg = [4, 0]; ce_r = [1, 2] -> sorted [2, 1] / 4
    assert M.top_ce_share(fe, W, b, np.array([0]), 2, n=2).tolist()[0] == [0.5, 0.25]


def test_rq7_measures_by_hand():
    # class 0: mu_train [1, 0], a group's mean [2, 0]; class 1 not kept (its nan is ignored)
    mu_train, mu_group = np.array([[1.0, 0.0], [0.0, 1.0]]), np.array([[2.0, 0.0], [np.nan, np.nan]])
    kept = np.array([True, False])
    assert M.frobenius_to(mu_train, mu_group, kept) == 1.0
    assert M.top_magnitude_ratio(mu_train, mu_group, kept, n=1)[0] == 2.0
    assert np.isnan(M.top_magnitude_ratio(mu_train, mu_group, kept, n=1)[1])
    half = M.top_magnitude_ratio(np.array([[4.0, 2.0, 0.1]]), np.array([[2.0, 1.0, 5.0]]), [True], n=2)
    assert half.tolist() == [0.5]          # over training's top two features only


def test_top_member_overlap_by_hand():
    train = np.array([[0.9, 0.8, 0.1, 0.0]])       # the two most frequent: features 0, 1
    group = np.array([[0.0, 0.7, 0.6, 0.0]])       # the two most frequent: features 1, 2
    assert M.top_member_overlap(train, group, [True], n=2).tolist() == [0.5]
    assert np.isnan(M.top_member_overlap(train, np.full((1, 4), np.nan), [True], n=2)[0])   # no such group


# -- properties ---------------------------------------------------------------------------------

def _example(seed, N, H, C):
    rng = np.random.default_rng(seed)
    fe = rng.random((N, H)) * rng.random((N, 1)) * 3  # non-negative, like post-ReLU features
    W = rng.normal(size=(C, H))
    b = rng.normal(size=C) * 0.1
    y = rng.integers(0, C, N)
    return fe, W, b, y


shapes = dict(seed=st.integers(0, 2**32 - 1), N=st.integers(1, 40), H=st.integers(1, 12), C=st.integers(2, 6))


@settings(max_examples=60, deadline=None)
@given(**shapes)
def test_coverage_is_non_decreasing_in_k(seed, N, H, C):
    fe, W, b, y = _example(seed, N, H, C)
    kstar = M.instance_top_k(fe, W, b)
    assert ((1 <= kstar) & (kstar <= H + 1)).all()
    ks = list(range(1, H + 2))
    assert np.all(np.diff(M.top_k_coverage(kstar, ks)) >= 0)
    cov = M.class_top_k_coverage(kstar, y, ks, C)
    present = np.bincount(y, minlength=C) > 0
    assert np.all(np.diff(cov[present], axis=1) >= 0)


@settings(max_examples=60, deadline=None)
@given(**shapes)
def test_kstar_at_most_h_when_correctly_separated(seed, N, H, C):
    fe, W, b, y = _example(seed, N, H, C)
    lg = M.logits(fe, W, b)
    r, a = M.reference_and_adversary(lg)
    separated = lg[np.arange(N), r] - lg[np.arange(N), a] > 1e-9
    assert (M.instance_top_k(fe, W, b)[separated] <= H).all()


@settings(max_examples=40, deadline=None)
@given(**shapes)
def test_measures_are_invariant_to_permuting_instances(seed, N, H, C):
    fe, W, b, y = _example(seed, N, H, C)
    p = np.random.default_rng(seed + 1).permutation(N)
    kstar = M.instance_top_k(fe, W, b)
    assert np.array_equal(M.instance_top_k(fe[p], W, b), kstar[p])
    ks = [1, 2, 3]
    np.testing.assert_allclose(M.class_top_k_coverage(kstar[p], y[p], ks, C),
                               M.class_top_k_coverage(kstar, y, ks, C))
    np.testing.assert_allclose(M.class_mean_ce(fe[p], W, y[p], C), M.class_mean_ce(fe, W, y, C))
    k = min(3, H)
    assert np.array_equal(M.member_counts(M.top_k_members(fe[p], k), y[p], C, H),
                          M.member_counts(M.top_k_members(fe, k), y, C, H))
    np.testing.assert_allclose(M.top_ce_share(fe[p], W, b, y[p], C), M.top_ce_share(fe, W, b, y, C))


@settings(max_examples=40, deadline=None)
@given(**shapes)
def test_permuting_feature_indices_permutes_members(seed, N, H, C):
    fe, W, b, y = _example(seed, N, H, C)
    p = np.random.default_rng(seed + 2).permutation(H)  # new feature j is old feature p[j]
    k = min(3, H)
    old = M.member_counts(M.top_k_members(fe, k), y, C, H)
    new = M.member_counts(M.top_k_members(fe[:, p], k), y, C, H)
    assert np.array_equal(new, old[:, p])
    new_members = M.top_k_members(fe[:, p], k)
    assert [set(p[m]) for m in new_members.tolist()] == [set(m) for m in M.top_k_members(fe, k).tolist()]
    assert np.array_equal(M.instance_top_k(fe[:, p], W[:, p], b), M.instance_top_k(fe, W, b))
    assert np.array_equal(M.features_to_describe(new), M.features_to_describe(old))


def test_minority_collapse_on_hand_made_weights():
    from fraglib.measures import mean_pairwise_cosine, minority_collapse
    # majority rows orthogonal (cos 0); minority rows nearly one direction (collapsed)
    W = np.array([[1.0, 0, 0, 0], [0, 1.0, 0, 0], [0, 0, 1.0, 0.1], [0, 0, 1.0, -0.1], [0, 0, 1.0, 0]])
    out = minority_collapse(W, minority=[2, 3, 4], majority=[0, 1])
    assert out["majority"] == pytest.approx(0.0) and out["minority"] > 0.98 and out["excess"] > 0.98
    # a regular simplex of 3 rows (no collapse): every pairwise cosine is -1/2
    simplex = np.array([[1.0, 0], [-0.5, np.sqrt(3) / 2], [-0.5, -np.sqrt(3) / 2]])
    assert mean_pairwise_cosine(simplex) == pytest.approx(-0.5)
    assert np.isnan(mean_pairwise_cosine(W[:1]))


def test_top_k_members_are_non_zero_features():
    """Probe: an image with fewer than K positive features got zero-valued members by index order,
    so a class's member count depended on tie-breaking (LDAM seed 1, class 7: 28 or 27)."""
    from fraglib.measures import indicator_counts, top_k_indicator
    fe = np.array([[3.0, 0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 2.0, 0.0, 0.0]])
    ind = top_k_indicator(fe, 3)
    assert ind.tolist() == [[1, 0, 0, 0, 1], [0, 0, 1, 0, 0]]
    shuffled = top_k_indicator(fe[:, ::-1], 3)[:, ::-1]          # feature order does not matter
    assert (shuffled == ind).all()
    assert indicator_counts(ind, [0, 0], 1).tolist() == [[1, 0, 1, 0, 1]]


def test_a_top_set_is_the_set_a_stable_sort_takes():
    """`top_set` finds each row's n largest values without sorting (RQ7's multiverse sorted 1,000
    resamples x classes x 64 features hundreds of times a page): the same set as a stable sort of
    -counts (ties to the lower index, nan as the least, never a value <= 0), on rows with many ties."""
    from fraglib.measures import top_set

    def by_sorting(counts, n):
        order = np.argsort(-counts, axis=-1, kind="stable")[..., :n]
        mask = np.zeros(counts.shape, bool)
        np.put_along_axis(mask, order, True, axis=-1)
        return mask & (counts > 0)

    rng = np.random.default_rng(0)
    for trial in range(200):
        shape = tuple(int(s) for s in (rng.integers(1, 30), rng.integers(1, 12), rng.integers(1, 70)))
        counts = rng.integers(-1, 4, shape) / rng.integers(1, 5)              # ties, zeros, negatives
        counts[rng.random(shape) < 0.1] = np.nan
        if trial % 3 == 0:
            counts = rng.random(shape)
        for n in (1, 3, 10, 80):
            assert np.array_equal(top_set(counts, n), by_sorting(counts, n)), (shape, n)
