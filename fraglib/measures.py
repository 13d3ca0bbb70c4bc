"""The paper's measures as pure, vectorised functions of arrays (book/methods.md, "Measures").

No model and no file inside: a chapter calls them on any run's embeddings, a test on a
hand-made example whose answer is known. Shapes: N instances, H features, C classes.

    fe     (N, H)  feature embeddings (the head's effective operand fe' where ce is concerned)
    W      (C, H)  head weights (effective W' for a cosine head), b (C,) bias (zeros if none)
    ce[n, c, h] = fe[n, h] * W[c, h];  logits = ce.sum(-1) + b

`ce` is never materialised whole: every measure needs only ce of one class per instance.
"""
from __future__ import annotations

import numpy as np

COVERAGE_KS = (2, 3, 5, 7)   # paper Fig. 3
MEMBER_K = 7                 # instance top-K set size for class members (the paper settles on 7)
TOP_N = 10                   # "ten most frequent / largest" in Figs. 4, 5, 7, 8, 10

# -- accuracy ---------------------------------------------------------------------------------


def per_class_accuracy(y_true, y_pred, num_classes: int) -> np.ndarray:
    """Recall of each class (nan for a class with no instance)."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    hits = np.bincount(y_true[y_true == y_pred], minlength=num_classes)
    totals = np.bincount(y_true, minlength=num_classes)
    with np.errstate(invalid="ignore", divide="ignore"):
        return hits / totals


def balanced_accuracy(y_true, y_pred, num_classes: int) -> float:
    """BAC: the mean over classes (present in y_true) of per-class recall."""
    return float(np.nanmean(per_class_accuracy(y_true, y_pred, num_classes)))


# -- logits, reference and adversary ----------------------------------------------------------


def logits(fe, W, b) -> np.ndarray:
    """lg[n, c] = sum_h fe[n, h] W[c, h] + b[c]."""
    return np.asarray(fe, np.float64) @ np.asarray(W, np.float64).T + np.asarray(b, np.float64)


def reference_and_adversary(lg) -> tuple[np.ndarray, np.ndarray]:
    """r(n) = argmax_c lg[n, c]; a(n) = argmax over c != r(n) (the largest adversary)."""
    lg = np.asarray(lg, np.float64)
    r = lg.argmax(1)
    masked = lg.copy()
    masked[np.arange(len(lg)), r] = -np.inf
    return r, masked.argmax(1)


def ce_of(fe, W, classes) -> np.ndarray:
    """ce[n, classes[n], :] for every n: (N, H)."""
    return np.asarray(fe, np.float64) * np.asarray(W, np.float64)[np.asarray(classes)]


# -- top-K (RQ3) ------------------------------------------------------------------------------


def instance_top_k(fe, W, b) -> np.ndarray:
    """K*(n): the smallest K such that the K largest entries of ce[n, r(n), :] plus b[r(n)]
    exceed lg[n, a(n)]; H + 1 if no K does."""
    lg = logits(fe, W, b)
    r, a = reference_and_adversary(lg)
    ce_r = -np.sort(-ce_of(fe, W, r), axis=1)  # descending
    b = np.asarray(b, np.float64)
    exceeds = np.cumsum(ce_r, axis=1) + b[r][:, None] > lg[np.arange(len(lg)), a][:, None]
    H = ce_r.shape[1]
    return np.where(exceeds.any(1), exceeds.argmax(1) + 1, H + 1)


def instance_top_k_all(fe, W, b, chunk: int = 2048) -> np.ndarray:
    """K*(n) under the other top-K reading (the multiverse's `top_k = all others`): the smallest K
    such that the predicted class's K largest ce plus its bias exceed every other class's K
    largest ce plus its bias (every class truncated at the same K); H + 1 if no K does."""
    fe, W, b = (np.asarray(a, np.float64) for a in (fe, W, b))
    r = logits(fe, W, b).argmax(1)
    out = np.empty(len(fe), dtype=np.int64)
    for i in range(0, len(fe), chunk):
        ce = fe[i:i + chunk, None, :] * W[None]                          # (n, C, H)
        partial = np.cumsum(-np.sort(-ce, axis=2), axis=2) + b[None, :, None]   # (n, C, K)
        rows = np.arange(len(ce))
        mine = partial[rows, r[i:i + chunk]]                               # (n, K)
        partial[rows, r[i:i + chunk]] = -np.inf
        exceeds = mine > partial.max(1)
        out[i:i + chunk] = np.where(exceeds.any(1), exceeds.argmax(1) + 1, ce.shape[2] + 1)
    return out


def top_k_coverage(kstar, ks) -> np.ndarray:
    """For each K in ks, the fraction of instances with K*(n) <= K."""
    kstar = np.asarray(kstar)
    return (kstar[:, None] <= np.asarray(ks)[None, :]).mean(0)


def class_top_k_coverage(kstar, y, ks, num_classes: int) -> np.ndarray:
    """(C, len(ks)): top-K coverage over the instances labelled c (paper Fig. 3)."""
    hits = (np.asarray(kstar)[:, None] <= np.asarray(ks)[None, :]).astype(np.float64)
    return class_means(hits, y, num_classes)


# -- class top-K members (RQ6, RQ7) -----------------------------------------------------------


def top_k_members(values, k: int) -> np.ndarray:
    """(N, k): indices of each row's k largest entries (the instance's top-K set); k is capped at
    the number of features."""
    values = np.asarray(values)
    k = min(k, values.shape[1])
    return np.argpartition(-values, k - 1, axis=1)[:, :k]


def member_indicator(members, num_features: int) -> np.ndarray:
    """(N, H) 0/1: whether feature h is in instance n's top-K set (its mean over a class is the
    class top-K FE coverage ratio of every feature; its sum, the member counts)."""
    ind = np.zeros((len(members), num_features), np.float32)
    np.put_along_axis(ind, np.asarray(members), 1.0, axis=1)
    return ind


def top_set(counts, n: int = 10) -> np.ndarray:
    """(..., H) bool: the n most frequent features of each row of counts (ties to the lower
    index, features that never occur left out), the set form of `class_top_members`."""
    counts = np.asarray(counts)
    if n >= counts.shape[-1]:
        return counts > 0
    # the n-th largest value of each row (nan as the least), every value above it, and of the values
    # equal to it the lowest-indexed ones that complete n: the set a stable sort of -counts takes,
    # without sorting (1.7x faster on RQ7's (1000, C, 64) resampled shares; tested equal)
    c = np.where(np.isnan(counts), -np.inf, counts)
    nth = -np.partition(-c, n - 1, axis=-1)[..., n - 1:n]
    above, tie = c > nth, c == nth
    take = tie & (np.cumsum(tie, axis=-1) <= n - above.sum(-1, keepdims=True))
    return (above | take) & (counts > 0)


def top_k_indicator(values, k: int) -> np.ndarray:
    """(N, H) 0/1: each row's top-K members, among its non-zero entries only: an instance with
    fewer than K non-zero features has fewer than K members (a post-ReLU zero is no feature of that
    image, and picking zeros by index order made a class's member count depend on tie-breaking)."""
    values = np.asarray(values)
    return member_indicator(top_k_members(values, k), values.shape[1]) * (values != 0)


def indicator_counts(indicator, groups, num_classes: int) -> np.ndarray:
    """(C, H): how many instances of group c hold feature h (a sum of `top_k_indicator` rows)."""
    out = np.zeros((num_classes, np.shape(indicator)[1]))
    np.add.at(out, np.asarray(groups), np.asarray(indicator, np.float64))
    return out


def member_counts(members, groups, num_classes: int, num_features: int) -> np.ndarray:
    """(C, H): how many instances of group c hold feature h in their top-K set."""
    flat = np.repeat(np.asarray(groups), members.shape[1]) * num_features + members.ravel()
    return np.bincount(flat, minlength=num_classes * num_features).reshape(num_classes, num_features)


def class_top_members(counts, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Each class's n most frequent top-K features (-1 where fewer than n features occur at all)
    and their counts. Ties go to the lower feature index."""
    counts = np.asarray(counts)
    order = np.argsort(-counts, axis=1, kind="stable")[:, :n]
    top = np.take_along_axis(counts, order, 1)
    return np.where(top > 0, order, -1), top


def class_top_k_coverage_ratio(counts, class_sizes, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """(members, ratio): the n most frequent top-K features per class, and the share of the
    class's instances that hold each of them."""
    members, top = class_top_members(counts, n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return members, top / np.asarray(class_sizes, np.float64)[:, None]


def features_to_describe(counts) -> np.ndarray:
    """(C,): the size of the union of the instance top-K sets over each class (paper Fig. 9)."""
    return (np.asarray(counts) > 0).sum(1)


# -- class mean magnitudes (RQ4, RQ5, RQ6) ----------------------------------------------------


def class_means(values, groups, num_classes: int) -> np.ndarray:
    """(C, H): mean of values[n, :] over instances of group c (nan for an empty group)."""
    values, groups = np.asarray(values, np.float64), np.asarray(groups)
    onehot = np.zeros((num_classes, len(groups)))
    onehot[groups, np.arange(len(groups))] = 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        return (onehot @ values) / onehot.sum(1)[:, None]


def class_mean_ce(fe, W, y, num_classes: int) -> np.ndarray:
    """(C, H): mean over instances labelled c of ce[n, c, :] (= class mean fe times W[c])."""
    return class_means(fe, y, num_classes) * np.asarray(W, np.float64)


def top_values(matrix, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Each row's n largest values, sorted descending, and their column indices."""
    matrix = np.asarray(matrix, np.float64)
    order = np.argsort(-matrix, axis=1, kind="stable")[:, :n]
    return np.take_along_axis(matrix, order, 1), order


def weight_magnitudes(W, n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Top n |W[c, :]| per class (sorted) and their sum (paper Fig. 7)."""
    top, _ = top_values(np.abs(W), n)
    return top, top.sum(1)


def majority_vs_others(per_class, majority: int) -> dict:
    """A per-class figure for the majority class, the mean of the others, and others/majority."""
    per_class = np.asarray(per_class, np.float64)
    others = float(np.nanmean(np.delete(per_class, majority)))
    maj = float(per_class[majority])
    return {"majority": maj, "others": others, "ratio": others / maj if maj else float("nan")}


def largest_class_ce(mean_ce, majority: int) -> dict:
    """Table 3: the largest class mean ce of the majority class vs the mean of the others'."""
    return majority_vs_others(np.asarray(mean_ce).max(1), majority)


def instance_top_ce_share(fe, W, b, n: int = 7) -> np.ndarray:
    """(N, n): each instance's n largest ce[n, r(n), :] divided by its logit lg[n, r(n)]."""
    lg = logits(fe, W, b)
    r, _ = reference_and_adversary(lg)
    top = -np.sort(-ce_of(fe, W, r), axis=1)[:, :n]
    with np.errstate(invalid="ignore", divide="ignore"):
        return top / lg[np.arange(len(lg)), r][:, None]


def top_ce_share(fe, W, b, y, num_classes: int, n: int = 7) -> np.ndarray:
    """(C, n): `instance_top_ce_share` averaged over the class's (labelled) instances (paper
    Fig. 6; Table 4 takes column 0)."""
    return class_means(instance_top_ce_share(fe, W, b, n), y, num_classes)


# -- train vs test TP vs test FP (RQ7) --------------------------------------------------------


def tp_fp_groups(y_test, pred_test) -> tuple[np.ndarray, np.ndarray]:
    """Group index per test instance: TP -> predicted class, FP -> predicted class; -1 = not in it."""
    y_test, pred_test = np.asarray(y_test), np.asarray(pred_test)
    correct = y_test == pred_test
    return np.where(correct, pred_test, -1), np.where(~correct, pred_test, -1)


def frobenius_to(mu_train, mu_group, kept) -> np.ndarray:
    """||mu_train - mu_group||_F over the kept classes ((C, H) class means; leading axes, e.g.
    resamples, are kept): how far a test group's class-mean fe lie from training's (Fig. 10)."""
    diff = np.where(np.asarray(kept)[:, None], (np.asarray(mu_train) - np.asarray(mu_group)) ** 2, 0.0)
    return np.sqrt(np.nansum(diff, axis=(-2, -1)))


def top_member_overlap(train_share, group_share, kept, n: int = 10, train_set=None, group_set=None) -> np.ndarray:
    """(..., C): the identity overlap of each kept class's n most frequent top-K features in
    training and in a test group (from member shares (..., C, H): the share of a class's images
    holding each feature in its top-K set); nan for classes not kept or absent from the group.
    `train_set`, `group_set`: the sets where already made (`member_top_set(share, n)`)."""
    a = member_top_set(train_share, n) if train_set is None else train_set
    b = member_top_set(group_share, n) if group_set is None else group_set
    with np.errstate(invalid="ignore", divide="ignore"):
        share = (a & b).sum(-1) / a.sum(-1)
    return np.where(np.asarray(kept) & ~np.isnan(group_share).any(-1), share, np.nan)


def member_top_set(share, n: int = 10) -> np.ndarray:
    """`top_set` of member shares (nan, a class absent, as 0)."""
    return top_set(np.nan_to_num(share), n)


def magnitude_top(mu_train, n: int = 10) -> np.ndarray:
    """(..., C, n): the indices of each class's n largest class-mean training fe (ties to the lower
    index), the features `top_magnitude_ratio` sums."""
    return np.argsort(-np.nan_to_num(np.asarray(mu_train, float), nan=-np.inf), axis=-1, kind="stable")[..., :n]


def top_magnitude_ratio(mu_train, mu_group, kept, n: int = 10, top=None) -> np.ndarray:
    """(..., C): each kept class's n largest class-mean training fe, summed over the same features
    in a test group, over their sum in training (1: the test group reaches training's magnitudes;
    the paper: false positives' are "approx. half"); nan for classes not kept. `top`: those
    features where already found (`magnitude_top(mu_train, n)`)."""
    mu_train, mu_group = np.asarray(mu_train, float), np.asarray(mu_group, float)
    top = magnitude_top(mu_train, n) if top is None else top
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.take_along_axis(mu_group, top, -1).sum(-1) / np.take_along_axis(mu_train, top, -1).sum(-1)
    return np.where(kept, ratio, np.nan)


# -- Minority Collapse (Fang et al., the Layer-Peeled Model) -------------------------------------


def pairwise_cosine(rows) -> np.ndarray:
    """(k, k) cosine similarity between the rows of a (k, H) matrix."""
    rows = np.asarray(rows, np.float64)
    unit = rows / np.linalg.norm(rows, axis=1, keepdims=True)
    return unit @ unit.T


def mean_pairwise_cosine(rows) -> float:
    """The mean cosine over distinct pairs of rows (nan for fewer than two rows)."""
    k = len(rows)
    if k < 2:
        return float("nan")
    cos = pairwise_cosine(rows)
    return float(cos[~np.eye(k, dtype=bool)].mean())


def between_cosine(rows_a, rows_b) -> float:
    """The mean cosine over every pair of a row of `rows_a` and a row of `rows_b`."""
    a, b = (np.asarray(r, np.float64) for r in (rows_a, rows_b))
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return float((a @ b.T).mean())


def minority_collapse(matrix, minority, majority, centre=None) -> dict:
    """How far the minority classes' rows (classifier weights W, or class-mean fe) have collapsed
    towards each other: the mean pairwise cosine among the minority rows, among the majority rows,
    between the two groups, and the minority's excess over the majority (collapse: the minority's
    cosine rises towards 1 while the majority's stays put). `centre` (a row) is subtracted first:
    W's mean row, or the global mean of the training fe (Papyan et al.): post-ReLU class means all
    lie in the positive orthant, and their uncentred cosines measure the shared component."""
    matrix = np.asarray(matrix, np.float64)
    if centre is not None:
        matrix = matrix - np.asarray(centre, np.float64)
    mino, majo = matrix[list(minority)], matrix[list(majority)]
    m, j = mean_pairwise_cosine(mino), mean_pairwise_cosine(majo)
    return {"minority": m, "majority": j, "between": between_cosine(mino, majo), "excess": m - j}


def rises(ladder) -> bool:
    """Whether a figure rises at every step of a ladder (of imbalance ratios, in order)."""
    return bool(np.all(np.diff(np.asarray(ladder, float)) > 0))


# -- which classes are which (book/methods.md, "Measures") ----------------------------------------


def majority_minority(num_classes: int) -> tuple[int, int]:
    """Majority and minority by the imbalance order: class 0 keeps the most training images and
    class C - 1 the fewest, under exponential and step imbalance; a balanced run uses the same
    indices as its imbalanced twin (argmin of equal counts would name class 0 twice)."""
    return 0, num_classes - 1


def halves(num_classes: int) -> tuple[range, range]:
    """(major, minor): the first C//2 classes of the imbalance order and the last C//2 (under
    step imbalance exactly the large and the small classes; under exponential, the larger and
    the smaller half). Minority Collapse, Procrustean training and the training history use it."""
    return range(num_classes // 2), range(num_classes - num_classes // 2, num_classes)
