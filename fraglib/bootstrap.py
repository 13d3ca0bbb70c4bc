"""How sure a figure is, at no training cost: a bootstrap over instances.

One training run gives one value of every figure; part of what a verdict compares is which
images happened to be drawn. `Resample` draws B stratified bootstrap resamples of a set of
instances (with replacement *within each class*, so class sizes, the object of the study, stay
fixed) and holds them as count weights, so that any class or group mean over the resamples is
one matrix product per class:

    rs = Resample(y_train, num_classes, B=1000, seed=0)
    rs.means(fe_train)                     # (B, C, H): each resample's class-mean fe
    rs.means(fe_test, groups=pred, ...)    # means over another grouping of the same instances

Figures are then computed from the resampled means exactly as from the observed ones
(`figures.py`), and `interval` reads a percentile interval off the B values. The two runs of a
study share their test set, so their test-side figures are resampled together (paired); their
training sets differ and are resampled independently.

`matched_draws` is the size-matched control (book/methods.md): `n` instances drawn *without*
replacement from each class, repeated, so that a count that grows with class size can be
compared at the minority's size; `matched_means` the same for group means (a class's true
positives drawn at the size of its false positives, say).

A per-class proportion from fewer than `SMALL_N` images gets an exact interval
(`clopper_pearson`; 9/9 is [66%, 100%], where a percentile bootstrap gives [100%, 100%]) and, in
the resamples a claim is judged on, draws from its Jeffreys posterior (`small_n_draws`) instead
of bootstrap copies that cannot vary.
"""
from __future__ import annotations

import copy
import warnings
from types import SimpleNamespace

import numpy as np

RESAMPLES = 1000   # bootstrap resamples per figure (issue 10: at least 1,000)
LEVEL = 0.95       # the interval's coverage
SMALL_N = 30       # a proportion from fewer images gets an exact interval (book/methods.md)


class Resample:
    """B stratified bootstrap resamples of labelled instances, held as count weights per class."""

    def __init__(self, y, num_classes: int, B: int = RESAMPLES, seed: int = 0):
        y = np.asarray(y)
        self.y, self.C, self.B, self.N = y, num_classes, B, len(y)
        self.members = [np.flatnonzero(y == c) for c in range(num_classes)]
        self.sizes = np.array([len(m) for m in self.members])
        rng = np.random.default_rng([seed, B, self.N])
        self.weights = []                       # per class: (B, n_c) how often each instance is drawn
        for idx in self.members:
            self.weights.append(_draw_counts(rng, B, len(idx)))
        self._cache: dict = {}

    def sharing_draws(self) -> "Resample":
        """The same resamples (the same instances drawn the same number of times) with an empty
        cache: for the same images read through another network (a run at another selection
        rule's epoch), whose cached means would otherwise be the first network's."""
        other = copy.copy(self)
        other._cache = {}
        return other

    def same_instances(self, y) -> bool:
        return len(y) == self.N and np.array_equal(np.asarray(y), self.y)

    def _slices(self, c: int, groups):
        """Class c's instances grouped by `groups` (-1 left out): the weights with their columns
        in group order, the instance indices in that order, and each group's column slice."""
        idx = self.members[c]
        g = np.asarray(groups)[idx]
        order = np.argsort(g, kind="stable")
        g_sorted = g[order]
        values = np.unique(g_sorted[g_sorted >= 0])
        bounds = np.searchsorted(g_sorted, np.r_[values, values[-1] + 1] if len(values) else [0])
        w = self.weights[c][:, order]
        return w, idx[order], [(int(v), slice(bounds[i], bounds[i + 1])) for i, v in enumerate(values)]

    def sums(self, values, groups=None, num_groups: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(B, G, D) sums of `values` (N, D) or (N,) over each group, and (B, G) group sizes, in
        every resample. Groups default to the labels; a group index of -1 leaves an instance out."""
        v = np.asarray(values, np.float32)
        v = v[:, None] if v.ndim == 1 else v
        G = self.C if groups is None else (num_groups or self.C)
        out = np.zeros((self.B, G, v.shape[1]))
        count = np.zeros((self.B, G))
        for c, idx in enumerate(self.members):
            if not len(idx):
                continue
            if groups is None:
                out[:, c] = self.weights[c] @ v[idx]
                count[:, c] = len(idx)
                continue
            w, order, parts = self._slices(c, groups)
            vc = v[order]
            for gv, sl in parts:
                out[:, gv] += w[:, sl] @ vc[sl]
                count[:, gv] += w[:, sl].sum(1)
        return out, count

    def code_counts(self, codes, num_codes: int) -> np.ndarray:
        """(B, C, num_codes): in every resample, how many instances of each class carry each code
        (e.g. K*(n)); one product with the codes' one-hot matrix per class."""
        codes = np.asarray(codes)
        out = np.zeros((self.B, self.C, num_codes), np.float32)
        for c, idx in enumerate(self.members):
            if len(idx):
                onehot = np.zeros((len(idx), num_codes), np.float32)
                onehot[np.arange(len(idx)), codes[idx]] = 1
                out[:, c] = self.weights[c] @ onehot
        return out

    def means(self, values, groups=None, num_groups: int | None = None, key: str | None = None) -> np.ndarray:
        """(B, G, D) group means (nan where a resample has no instance of the group); the 1-d
        case gives (B, G). `key` caches the result (the same values are asked for by several
        figures)."""
        if key is not None and key in self._cache:
            return self._cache[key]
        s, n = self.sums(values, groups, num_groups)
        with np.errstate(invalid="ignore", divide="ignore"):
            m = s / n[:, :, None]
        m = m[:, :, 0] if np.asarray(values).ndim == 1 else m
        if key is not None:
            self._cache[key] = m
        return m

    def cached(self, key: str, make):
        """`make()`, computed once for these resamples' network (the cache `means` keeps): what
        several specifications of one study share (RQ7's true positives under either FP grouping)."""
        if key not in self._cache:
            self._cache[key] = make()
        return self._cache[key]

    def bac(self, correct) -> np.ndarray:
        """(B,) balanced accuracy in % from a per-instance 0/1 correctness (labels = classes)."""
        return 100 * np.nanmean(self.means(np.asarray(correct, np.float32)), axis=1)


def _draw_counts(rng, B: int, n: int) -> np.ndarray:
    """(B, n) float32: how often each of n instances is drawn in each of B resamples of size n.
    Counted a few rows at a time, so the counts stay in cache (one bincount over all B * n
    draws at once was 3x slower)."""
    out = np.empty((B, n), np.float32)
    if n == 0:
        return out
    rows = max(1, 2 ** 18 // n)
    for start in range(0, B, rows):
        r = min(rows, B - start)
        draws = rng.integers(0, n, (r, n), dtype=np.int32) + (np.arange(r, dtype=np.int32) * n)[:, None]
        out[start:start + r] = np.bincount(draws.ravel(), minlength=r * n).reshape(r, n)
    return out


def interval(samples, level: float = LEVEL) -> tuple[float, float]:
    """The percentile interval of resampled values along axis 0 (nan values left out)."""
    a = np.asarray(samples, np.float64)
    q = 100 * (1 - level) / 2
    with warnings.catch_warnings():   # an all-nan column (a class never present) gives nan quietly
        warnings.simplefilter("ignore", RuntimeWarning)
        lo, hi = np.nanpercentile(a, [q, 100 - q], axis=0)
    return lo, hi


def matched_draws(y, num_classes: int, n: int, draws: int = RESAMPLES, seed: int = 0) -> list[np.ndarray]:
    """Per class, (draws, min(n, n_c)) instance indices drawn without replacement: the
    size-matched control (every class seen at the same size n)."""
    y = np.asarray(y)
    rng = np.random.default_rng([seed, draws, n, len(y)])
    out = []
    for c in range(num_classes):
        idx = np.flatnonzero(y == c)
        k = min(n, len(idx))
        if k == len(idx):
            out.append(np.broadcast_to(idx, (draws, k)))
            continue
        keys = rng.random((draws, len(idx)))
        out.append(idx[np.argpartition(keys, k - 1, axis=1)[:, :k]])
    return out


def pair_resamples(balanced, imbalanced, B: int = RESAMPLES, seed: int = 0) -> SimpleNamespace:
    """The bootstrap resamples of a pair study's instances (embeddings of its balanced and
    imbalanced runs): each run's training set on its own, and the test set, shared (paired) when
    both runs were tested on the same images."""
    C = imbalanced.num_classes
    test_imb = Resample(imbalanced.y_test, C, B, seed + 1)
    test_bal = test_imb if test_imb.same_instances(balanced.y_test) else Resample(balanced.y_test, C, B, seed + 2)
    return SimpleNamespace(train_bal=Resample(balanced.y_train, C, B, seed + 3),
                           train_imb=Resample(imbalanced.y_train, C, B, seed), test_bal=test_bal,
                           test_imb=test_imb, B=B, seed=seed)


def sharing_draws(resamples):
    """A study's resamples (a `Resample`, a pair's namespace of them, or None) with the same draws
    and empty caches (`Resample.sharing_draws`); a pair's shared test resample stays shared."""
    if isinstance(resamples, Resample):
        return resamples.sharing_draws()
    if isinstance(resamples, SimpleNamespace):
        copies: dict = {}   # one copy of each Resample, however many names it has

        def fresh(v):
            if isinstance(v, Resample) and id(v) not in copies:
                copies[id(v)] = v.sharing_draws()
            return copies.get(id(v), v)
        return SimpleNamespace(**{k: fresh(v) for k, v in vars(resamples).items()})
    return resamples


def matched_means(values, groups, sizes, draws: int = RESAMPLES, seed: int = 0) -> np.ndarray:
    """(draws, G, D): the mean of `values` (N, D) over `sizes[g]` members of each group g drawn
    without replacement (all of a group smaller than its size; nan for an empty group), repeated
    `draws` times. One 0/1 selection matrix per group, so every draw is one product."""
    values = np.asarray(values, np.float32)
    groups = np.asarray(groups)
    rng = np.random.default_rng([seed, draws, len(groups)])
    out = np.full((draws, len(sizes), values.shape[1]), np.nan)
    for g, size in enumerate(sizes):
        idx = np.flatnonzero(groups == g)
        k = min(int(size), len(idx))
        if k == 0:
            continue
        if k == len(idx):
            out[:, g] = values[idx].mean(0)
            continue
        keys = rng.random((draws, len(idx)))
        pick = np.zeros((draws, len(idx)), np.float32)
        np.put_along_axis(pick, np.argpartition(keys, k - 1, axis=1)[:, :k], 1.0, axis=1)
        out[:, g] = pick @ values[idx] / k
    return out


def clopper_pearson(k, n, level: float = LEVEL) -> tuple[np.ndarray, np.ndarray]:
    """The exact (Clopper-Pearson) interval of a proportion k/n, elementwise (nan where n = 0)."""
    from scipy.stats import beta
    k, n = np.asarray(k, float), np.asarray(n, float)
    a = (1 - level) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        lo = np.where(k > 0, beta.ppf(a, k, n - k + 1), 0.0)
        hi = np.where(k < n, beta.ppf(1 - a, k + 1, n - k), 1.0)
    bad = n <= 0
    return np.where(bad, np.nan, lo), np.where(bad, np.nan, hi)


def small_n_draws(boot, k, n, seed: int = 0, scale: float = 1.0) -> np.ndarray:
    """`boot` (B,) or (B, C) resampled proportions, with the entries from fewer than SMALL_N images
    replaced by draws from the Jeffreys posterior Beta(k + 1/2, n - k + 1/2) (times `scale`): a
    bootstrap of 9 of 9 is 9 of 9 every time, the uncertainty of 9 of 9 is not zero."""
    boot = np.array(boot, dtype=float, copy=True)
    k, n = np.atleast_1d(np.asarray(k, float)), np.atleast_1d(np.asarray(n, float))
    rng = np.random.default_rng([seed, len(boot), int(n.sum())])
    cols = boot.reshape(len(boot), -1)
    for j in np.flatnonzero((n > 0) & (n < SMALL_N)):
        cols[:, j] = scale * rng.beta(k[j] + 0.5, n[j] - k[j] + 0.5, len(boot))
    return cols.reshape(boot.shape)
