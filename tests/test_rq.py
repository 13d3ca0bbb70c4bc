"""The question modules (fraglib/rq/*): each question's figures on hand-made arrays whose answer is
known, its claims and their verdicts, and the paper's numbers under the same names."""
from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from fraglib import claims, verdicts
from fraglib import figures as F
from fraglib.questions import BY_ID, QUESTIONS
from fraglib.rq import collapse, rq1, rq2, rq3, rq4, rq5, rq6, rq7
from fraglib.rq import eos as rq_eos

from .helpers import fake_record, fake_run, paper_of


# -- Minority Collapse read along the ladder, centred -------------------------------------------
def _ladder_record(class_means_by_rung, W_by_rung, n=30, counts=None, ratios=None):
    """A ladder Record whose runs' training fe sit exactly on the given class means (`n` images a
    class, or `counts[rung]`, one list per rung)."""
    from types import SimpleNamespace

    from fraglib.figures import Record
    emb, configs = {}, {}
    for r, (means, W) in enumerate(zip(class_means_by_rung, W_by_rung)):
        means = np.asarray(means, float)
        C = len(means)
        y = np.repeat(np.arange(C), counts[r] if counts else n)
        emb[f"r{r}"] = SimpleNamespace(fe_train=means[y], y_train=y, weight=np.asarray(W, float), num_classes=C)
        configs[f"r{r}"] = SimpleNamespace(imbalance_ratio=float(ratios[r] if ratios else 10 ** r))
    return Record(embeddings=emb, metrics={}, configs=configs)


# -- controls, verdict kinds, small classes, thresholds, the paper's own statistics -----------------
def _pair_of(fe_tr, y_tr, fe_te, y_te, W, seed=0, B=1000):
    """A pair record whose two runs are the same hand-made network (what the pair figures need)."""
    C = W.shape[0]
    run = fake_run(fe_tr, y_tr, W, fe_test=fe_te, y_test=y_te)
    run[0].fe_full, run[0].y_full = fe_tr, y_tr
    pred = (np.asarray(fe_te) @ W.T).argmax(1).tolist()
    rows = [{"sampler": s, "bac": 0.5, "pred": pred, "class_acc": [0.5] * C, "n_train": len(y_tr),
             "sampling_seconds": 0.0, "head_seconds": 0.0} for s in ("none", "crt", "ros", "smote", "eos")]
    return fake_record(run, run, B=B, seed=seed,
                       analyses={"retrain": {"bac": 0.5, "pred": pred}, "eos": rows, "eos-authors": rows[-1:],
                                 "eos-fresh": rows[-1:]})


def _diversity_run(minority_features: int, n_major=400, n_minor=10, H=64, seed=0):
    """fe whose top-7 set of each image is drawn from the first `features` of H: the majority
    from all H, the minority from `minority_features`."""
    rng = np.random.default_rng(seed)
    rows, ys = [], []
    for c, (n, pool) in enumerate(((n_major, H), (n_minor, minority_features))):
        for _ in range(n):
            fe = rng.uniform(0, 0.5, H)
            fe[rng.choice(pool, 7, replace=False)] += 1.0
            rows.append(fe)
            ys.append(c)
    fe = np.array(rows)
    return fake_run(fe, np.array(ys), rng.normal(size=(2, H)))


def rq1_figs(bal, imb, retrain, spread):
    boot = {"bal_bac": around(bal, spread, seed=1), "bac": around(imb, spread, seed=2),
            "retrain_bac": around(retrain, spread, seed=3)}
    return rq1.RQ1(bal_bac=bal, bac=imb, retrain_bac=retrain, boot=boot)


def around(value, spread, B=1000, seed=0):
    return value + spread * np.random.default_rng(seed).standard_normal(B)


def test_rq5_weights_are_the_raw_W_even_for_a_cosine_head():
    """A cosine head's normalised rows all have norm 1: with W/|W| the majority-vs-minority sum
    cannot differ as it does in the raw weights (it flips here)."""
    W = np.array([[4.0, 3.0], [0.3, 0.4], [0.9, 1.2]])          # raw: row norms 5, 0.5, 1.5
    W_eff = W / np.linalg.norm(W, axis=1, keepdims=True)         # every row norm 1
    W_eff[0] = [0.6, 0.6]                                        # so the majority's unit row sums lower
    fe = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    run = fake_run(fe, [0, 1, 2], W, W_eff=W_eff)
    rq = rq5.compute(fake_record(run, run))
    assert rq.w_sum_majority == pytest.approx(7.0) and rq.w_sum_minority == pytest.approx(2.1)
    assert rq.w_max == pytest.approx(4.0)
    # the old definition (effective W'): the minority's sum would exceed the majority's
    assert np.abs(W_eff[0]).sum() < np.abs(W_eff[2]).sum()


def test_majority_and_minority_follow_the_imbalance_order_on_a_balanced_run():
    """Equal counts: argmin would name class 0 as the minority too; the order says class C - 1."""
    assert F.majority_minority(10) == (0, 9)
    fe = np.eye(3).repeat(2, axis=0)
    y = [0, 0, 1, 1, 2, 2]                                      # a balanced run
    acc = [1.0, 0.5, 0.25]
    run = fake_run(fe, y, np.eye(3), train_acc=acc)
    rq = rq2.compute(fake_record(run, run))
    assert (rq.maj_train, rq.min_train) == (100.0, 25.0)       # class 0 vs class 2, not 0 vs 0


def test_rq3_top_k_on_a_hand_worked_example():
    # predicted class 0 by fe . W0 = 3 + 1 = 4 vs class 1's 2: K* = 1 (3 > 2)
    fe = np.array([[3.0, 1.0], [1.0, 0.2]])
    W = np.array([[1.0, 1.0], [0.0, 2.0]])
    run = fake_run(fe, [0, 1], W)
    rq = rq3.compute(fake_record(run, run))
    assert rq.H == 2 and rq.k94 == 1 and len(rq.coverage_all) == 3


def test_rq7_counts_the_classes_left_out():
    fe = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.1]])
    W = np.eye(2)
    # test: image 2 (label 1) is predicted 0: class 0 has TP and FP, class 1 has TP only
    run = fake_run(fe, [0, 1, 1], W, fe_test=fe, y_test=[0, 1, 1])
    rq = rq7.compute(fake_record(run, run))
    assert rq.classes_left_out == 1 and rq.frob_fp >= 0


def test_every_paper_figure_has_a_field_of_ours_under_the_same_name():
    for q in QUESTIONS:
        for (dataset, loss), paper in q.paper.items():
            assert dataset in ("cifar10", "svhn", "celeba") and loss in ("ce", "focal", "ldam-drw")
            assert type(paper).__module__ == q.figures.__module__      # the question's own figures class
            ours = {f.name for f in fields(type(paper))}
            assert set(paper.scalars()) <= ours
    p, label = paper_of("fashion-mnist", "focal", rq4.RQ4)
    assert p.largest_ce_ratio == 4.01 and "CIFAR-10" in label
    p, label = paper_of("fashion-mnist", "cdt", rq1.RQ1)
    assert p.bal_bac is None and "no such experiment" in label


def test_claims_read_figures_by_name_and_show_a_dash_where_the_paper_is_silent():
    ours = rq4.RQ4(largest_ce_majority=1.0, largest_ce_others=3.0, largest_ce_ratio=3.0,
                 bal_largest_ce_ratio=1.1, top_ce_share_majority=0.2, top_ce_share_others=0.3,
                 top_ce_share_ratio=1.5, top_share_max=50.0, bal_top_share_max=20.0, n_share_above35=6)
    out = rq4.check(ours, rq4.RQ4())
    assert [c.verdict for c in out] == [verdicts.ONE_NET, verdicts.ONE_NET, verdicts.DIRECTION, verdicts.ONE_NET,
                                        verdicts.DESCRIPTIVE]   # Fig. 6 relative votes (50 >= 1.35 x 20), absolute shown
    assert out[0].paper == "x–" and out[0].ours == "x3.00"
    flagged = claims.judge(rq4.check(ours, rq4.RQ4()), in_regime=False)
    assert {c.verdict for c in flagged} == {verdicts.OUTSIDE}
    assert [c.ours for c in flagged] == [c.ours for c in out]


def test_a_questions_claims_read_its_figures_and_the_paper_row():
    fe = np.array([[3.0, 1.0], [1.0, 0.2]])
    run = fake_run(fe, [0, 1], np.array([[1.0, 1.0], [0.0, 2.0]]))
    row = BY_ID["RQ3"]
    figs = row.figures(fake_record(run, run))
    judged = row.claims(figs, paper_of("cifar10", "ce", type(figs))[0])
    assert judged[0].paper == "K = 7" and judged[0].ours.startswith("K = 1")
    assert judged[0].verdict == verdicts.FAILS  # K = 1 is not <= H // 4 = 0 with H = 2
    assert {c.verdict for c in claims.judge(judged, in_regime=False)} == {verdicts.OUTSIDE}


@pytest.mark.parametrize("direction,size,support,expected", [
    (True, None, 0.99, verdicts.HOLDS), (True, True, 0.975, verdicts.HOLDS), (True, None, None, verdicts.ONE_NET),
    (True, None, 0.90, verdicts.NOISE), (True, True, 0.5, verdicts.NOISE),
    (True, False, 0.99, verdicts.DIRECTION), (False, True, 0.99, verdicts.FAILS), (False, None, 0.01, verdicts.FAILS)])
def test_verdict_rules(direction, size, support, expected):
    assert verdicts.verdict(direction, size, support) == expected


def test_a_claim_holds_only_when_its_interval_agrees():
    sure = rq1.check(rq1_figs(80.0, 60.0, 70.0, spread=1.0), rq1.RQ1())
    assert [c.verdict for c in sure] == [verdicts.HOLDS, verdicts.HOLDS]
    assert sure[1].support > 0.975 and "[" in sure[1].ours           # 70.00 [68.0, 72.0] vs ...
    noisy = rq1.check(rq1_figs(80.0, 69.0, 70.0, spread=3.0), rq1.RQ1())
    assert noisy[0].verdict == verdicts.HOLDS                            # 70 < 80 beyond noise
    assert noisy[1].verdict == verdicts.NOISE and 0.5 < noisy[1].support < 0.975   # 70 > 69 within noise
    assert "within noise" in claims.sentence(noisy).lower()
    reversed_ = rq1.check(rq1_figs(80.0, 72.0, 70.0, spread=1.0), rq1.RQ1())
    assert reversed_[1].verdict == verdicts.FAILS


def test_direction_only_when_the_stated_size_is_not_reached():
    boot = {"largest_ce_ratio": around(1.5, 0.05), "bal_largest_ce_ratio": around(1.0, 0.05),
            "top_ce_share_ratio": around(3.0, 0.1)}
    o = rq4.RQ4(largest_ce_ratio=1.5, bal_largest_ce_ratio=1.0, top_ce_share_ratio=3.0, top_share_max=40.0,
              bal_top_share_max=20.0, n_share_above35=2, boot=boot)
    out = rq4.check(o, rq4.RQ4())
    # Fig. 6 relative: 40% is 2x the balanced 20% (at least 35/26): holds; absolute: 2 classes above 35%,
    # not 5, so direction only, shown and not voting
    assert [c.verdict for c in out] == [verdicts.DIRECTION, verdicts.HOLDS, verdicts.HOLDS, verdicts.ONE_NET,
                                        verdicts.DESCRIPTIVE]
    assert out[4].observed == verdicts.DIRECTION
    small = rq4.check(rq4.RQ4(largest_ce_ratio=1.5, bal_largest_ce_ratio=1.0, top_ce_share_ratio=3.0,
                              top_share_max=42.0, bal_top_share_max=40.0, n_share_above35=6, boot=boot), rq4.RQ4())
    assert small[3].verdict == verdicts.DIRECTION and small[4].observed == verdicts.DIRECTION   # 40% balanced already


def test_weights_are_one_networks_and_the_run_outside_the_regime_tests_nothing():
    """A comparison of trained weights has no resampling noise: "holds (one network)", never "beyond
    noise"; the dimensional ce-vs-W row is shown and does not vote."""
    o = rq5.RQ5(w_sum_majority=6.5, w_sum_minority=3.7, w_max=1.0, ce_max=5.0, excess_fe=1.2, excess_w=0.1,
              boot={"ce_max": around(5.0, 0.2), "excess_fe": around(1.2, 0.1), "excess_w": around(0.1, 0.05)})
    out = rq5.check(o, rq5.RQ5())
    assert out[0].support is None and out[0].row()["resamples holding"] == "one network"
    assert out[0].verdict == verdicts.ONE_NET and out[1].verdict == verdicts.HOLDS
    assert out[2].verdict == verdicts.DESCRIPTIVE and out[2].observed == verdicts.HOLDS
    text = claims.sentence(out)
    assert "1 hold for this one network" in text and "beyond the bootstrap's noise" in text
    assert "descriptive row" in text
    flagged = claims.judge(rq5.check(o, rq5.RQ5()), in_regime=False)
    assert {c.verdict for c in flagged} == {verdicts.OUTSIDE}
    assert [c.ours for c in flagged] == [c.ours for c in out]
    assert "outside the paper's regime" in claims.sentence(flagged)


def test_the_paper_row_falls_back_to_cifar10_and_is_a_dash_where_the_paper_is_silent():
    p, label = paper_of("fashion-mnist", "focal", rq4.RQ4)
    assert p.largest_ce_ratio == 4.01 and "CIFAR-10" in label
    p, label = paper_of("fashion-mnist", "cdt", rq1.RQ1)
    assert p.bal_bac is None and "no such experiment" in label
    out = rq1.check(rq1_figs(80.0, 60.0, 70.0, 1.0), p)
    assert out[0].paper == "– vs –"


def test_the_size_matched_control_separates_sample_size_from_diversity():
    """Equally diverse classes: the raw count says the majority needs more features (it has 40x
    the images); at the minority's size it does not, and the control's claim says so. The old
    definition (no control) would report the raw claim alone."""
    same = rq6.compute(fake_record(*(2 * [_diversity_run(minority_features=64)])))
    raw, matched = rq6.check(same, rq6.RQ6())[:2]
    assert same.fd_majority > same.fd_minority and raw.observed in (verdicts.HOLDS, verdicts.NOISE)
    assert raw.verdict == verdicts.DESCRIPTIVE                     # the raw count is shown, does not vote
    assert matched.verdict in (verdicts.NOISE, verdicts.SIZE)        # holds only uncontrolled: sample size
    assert abs(same.fd_majority_matched - same.fd_minority_matched) < 6
    # a truly narrower minority (top-7 from 14 features): the claim survives the control
    narrow = rq6.compute(fake_record(*(2 * [_diversity_run(minority_features=14)])))
    raw, matched = rq6.check(narrow, rq6.RQ6())[:2]
    assert raw.observed == verdicts.HOLDS and matched.verdict == verdicts.HOLDS
    assert narrow.n_matched == 10 and narrow.features_to_describe_matched[1] == narrow.fd_minority


def test_the_eos_gap_survives_its_control_only_when_the_minority_truly_strays():
    """The gap of a mean over 9 images exceeds that of a mean over 900 by sample size alone: the raw
    row holds, the size-matched control does not (sample size); a minority whose test images truly
    sit elsewhere holds under the control too."""
    rng = np.random.default_rng(0)
    H, W = 8, np.eye(2, 8)
    y_tr = np.array([0] * 900 + [1] * 9)
    y_te = np.array([0] * 500 + [1] * 500)
    fe_tr = np.abs(rng.normal(size=(len(y_tr), H)))
    for shift, expected in ((0.0, (verdicts.SIZE, verdicts.NOISE)), (1.5, (verdicts.HOLDS,))):
        fe_te = np.abs(rng.normal(size=(len(y_te), H))) + shift * (y_te == 1)[:, None]
        o = rq_eos.compute(_pair_of(fe_tr, y_tr, fe_te, y_te, W))
        raw, matched = rq_eos.check(o, rq_eos.EOS())[:2]
        assert raw.verdict == verdicts.DESCRIPTIVE and raw.observed == verdicts.HOLDS
        assert o.n_matched == 9 and o.gap_majority_matched > 2 * o.gap_majority   # the bias, measured
        assert matched.verdict in expected, (shift, matched)


def test_rq7_distance_is_judged_at_the_fp_size_and_its_magnitude_is_signed():
    """TP and FP from one distribution, FP far fewer: the raw distance says FP stray, TP drawn at the
    FP size says it is sample size. FP at half of training's magnitude: the signed claim holds."""
    rng = np.random.default_rng(1)
    H, C = 16, 2
    W = np.eye(C, H) * 10
    y_tr = np.repeat([0, 1], 400)
    fe_tr = np.abs(rng.normal(size=(800, H))) + 4 * np.eye(C, H)[y_tr]
    # test: per class c, 600 images of c predicted c (TP) and 12 of the other label that look like c,
    # at `scale_fp` of c's magnitudes, and are predicted c (its FP)
    def test_set(scale_fp):
        fe, y = [], []
        for c in range(C):
            fe += [np.abs(rng.normal(size=(600, H))) + 4 * np.eye(C, H)[c],
                   (np.abs(rng.normal(size=(12, H))) + 4 * np.eye(C, H)[c]) * scale_fp]
            y += [c] * 600 + [1 - c] * 12
        return np.vstack(fe), np.array(y)
    fe_te, y_te = test_set(1.0)
    o = rq7.compute(_pair_of(fe_tr, y_tr, fe_te, y_te, W))
    out = rq7.check(o, rq7.RQ7())
    assert o.classes_left_out == 0 and out[0].verdict == verdicts.DESCRIPTIVE and out[0].observed == verdicts.HOLDS
    assert o.frob_tp_matched > 2 * o.frob_tp                 # fewer images, further from training
    assert out[1].verdict in (verdicts.SIZE, verdicts.NOISE)     # at the FP size, TP stray as far
    fe_half, _ = test_set(0.5)
    half = rq7.compute(_pair_of(fe_tr, y_tr, fe_half, y_te, W))
    signed = rq7.check(half, rq7.RQ7())[-1]
    assert 0.35 < half.mag_fp < 0.65 and half.mag_tp > 0.9 and signed.verdict == verdicts.HOLDS


def test_a_census_of_nine_training_images_at_100_percent_holds():
    """Probe: RQ3's "every class >= 94% at K = 7" read 0 of 3 seeds in every configuration: the
    product of Jeffreys draws' tails for classes of 9, 14 and 24 images (about 0.535) whatever the
    network, observed 97-100%. What a network does on its own training images is a census of that
    network: fixed in the resamples (seeds carry its uncertainty), the class's size shown."""
    from fraglib.bootstrap import clopper_pearson
    lo, hi = clopper_pearson(9, 9)                        # a *test* proportion of 9 would still get this
    assert round(100 * float(lo)) == 66 and hi == 1.0
    fe = np.eye(3).repeat([40, 40, 9], axis=0) + 0.01
    y = np.repeat([0, 1, 2], [40, 40, 9])
    pair = fake_record(fake_run(fe, y, np.eye(3)), fake_run(fe, y, np.eye(3)))
    o = rq2.compute(pair)
    assert o.min_train == 100.0 and o.interval("min_train") is None and "min_train" not in o.boot
    assert o.n_minority_train == 9 and "9 training images" in rq2.check(o, rq2.RQ2())[0].ours
    cov = rq3.compute(pair)
    out = rq3.check(cov, rq3.RQ3())
    assert cov.c7_min == 100.0 and out[2].verdict == verdicts.ONE_NET and out[2].support is None
    assert "9 training images" in out[4].ours


def test_rq3_thresholds_come_from_the_papers_seven_of_sixty_four():
    def rq3_figs(k, bal_k, c7=99.0, bal_c7=99.0):
        boot = {"k94": np.full(100, k), "bal_k94": np.full(100, bal_k), "c7_min": np.full(100, c7),
                "bal_c7_min": np.full(100, bal_c7), "c2_minority": np.full(100, 90.0),
                "c2_majority": np.full(100, 60.0)}
        return rq3.RQ3(k94=k, bal_k94=bal_k, H=64, c7_min=c7, bal_c7_min=bal_c7, c2_majority=60.0,
                     c2_minority=90.0, boot=boot)
    out = rq3.check(rq3_figs(7, 9), rq3.RQ3())
    assert [c.verdict for c in out[:2]] == [verdicts.HOLDS, verdicts.DIRECTION]   # 9 <= 16 but not <= 7
    assert rq3.check(rq3_figs(17, 7), rq3.RQ3())[0].verdict == verdicts.FAILS
    assert [c.verdict for c in rq3.check(rq3_figs(7, 7, c7=93.0, bal_c7=98.0), rq3.RQ3())[2:4]] == \
        [verdicts.FAILS, verdicts.HOLDS]


def test_rq5_decomposition_is_scale_free():
    """Rescale each channel of fe by a_h and W's by 1/a_h (the next layer compensates; no logit
    changes): neither factor's log excess moves. Probe: the split compared each class's own top
    channel with the majority's, so such a rescale moved it (11 of 12 networks rested on the gauge)."""
    rng = np.random.default_rng(2)
    mu, W = np.abs(rng.normal(size=(5, 8))) + 0.1, np.abs(rng.normal(size=(5, 8))) + 0.1
    a = rq5.largest_ce_factors(mu, W, 0)
    scale = np.exp(rng.normal(size=8))
    b = rq5.largest_ce_factors(mu * scale, W / scale, 0)
    assert np.allclose(a, b) and np.allclose(rq5.largest_ce_factors(3.0 * mu, W / 3.0, 0), a)
    h = (mu * W).argmax(1)
    assert np.isclose(sum(a), np.mean([np.log(mu[c, h[c]] * W[c, h[c]] / (mu[0, h[c]] * W[0, h[c]]))
                                       for c in range(1, 5)]))


def test_the_paper_column_names_its_own_statistic_and_hides_other_networks_magnitudes():
    p, _ = paper_of("cifar10", "ce", rq4.RQ4, "resnet32")
    out = rq4.check(rq4.RQ4(largest_ce_ratio=3.0, bal_largest_ce_ratio=1.0, top_ce_share_ratio=2.0,
                                  top_share_max=40.0, bal_top_share_max=20.0, n_share_above35=5), p)
    assert "classes 6-9 over 0-5" in out[0].paper
    same, _ = paper_of("cifar10", "ce", rq5.RQ5, "resnet32")
    other, _ = paper_of("fashion-mnist", "ce", rq5.RQ5, "smallnet")
    assert same.w_sum_majority == 7.54 and other.w_sum_majority is None and other.w_max is None
    assert paper_of("cifar10", "ce", rq5.RQ5, "smallnet")[0].ce_max is None   # same data, other network
    assert "over 90%" in claims.pv(paper_of("cifar10", "focal", rq3.RQ3)[0], "k94", "d")


def test_every_sentence_counts_what_it_says():
    rows = [claims.Claim("X", "a", "–", "1", verdicts.HOLDS, 0.99), claims.Claim("X", "b", "–", "1", verdicts.ONE_NET),
            claims.Claim("X", "c", "–", "1", verdicts.SIZE, 0.4), claims.Claim("X", "d", "–", "1", verdicts.DESCRIPTIVE, 1.0)]
    text = claims.sentence(rows)
    assert "of 3 checks" in text and "1 hold beyond the bootstrap's noise" in text
    assert "1 hold for this one network" in text and "1 are about sample size" in text
    assert "1 descriptive row" in text and "do not all hold" in text
    assert verdicts.stability([verdicts.HOLDS, verdicts.ONE_NET, verdicts.NOISE]) == "2 of 3 seeds"
    assert verdicts.stability([verdicts.DESCRIPTIVE] * 2) == "descriptive"


@pytest.mark.parametrize("acc,counts,ok", [
    ([1.0, 0.94, 0.95], [900, 500, 300], True),
    ([1.0, 0.939, 0.95], [900, 500, 300], False),
    ([1.0, 1.0, 8 / 9], [900, 500, 9], True),          # one of 9 missed: allowed below 20 images
    ([1.0, 1.0, 7 / 9], [900, 500, 9], False),         # two missed: not
    ([1.0, 1.0, 24 / 25], [900, 500, 25], True),       # 96% of 25
])
def test_the_regime_rule_of_design(acc, counts, ok):
    from fraglib.verdicts import RegimeCheck
    assert RegimeCheck.of({"train_class_acc": acc, "train_counts": counts}).in_regime is ok


def test_one_seed_number_varies_the_network_and_the_images():
    from fraglib.config import RunConfig
    one = RunConfig.make(profile="quick", seed=1)
    assert one.data_seed == 1 and "seed=1-" in one.key()
    pinned = RunConfig.make(profile="quick", seed=1, data_seed=0)
    assert "seed=1-data=0-" in pinned.key() and "seed 1, data 0" in pinned.label()
    assert RunConfig.make(profile="quick").key().endswith("seed=0-" + RunConfig.make(profile="quick").regime.precision
                                                          + "-" + RunConfig.make(profile="quick").digest())


def test_centring_changes_the_verdict_where_a_shared_positive_component_dominates():
    """Class means = a growing shared positive vector + fixed, mutually orthogonal class parts:
    uncentred, the minority's cosines rise along the ladder (the shared part grows); centred by
    the global mean, nothing moves, and the voting (centred) row does not hold."""
    C, H = 4, 8
    parts = np.eye(C, H)
    means = [parts + s * np.r_[np.zeros(C), np.ones(H - C)] for s in (0.5, 1.0, 2.0)]
    W = [np.eye(C, H) + 0.01 * k for k in range(3)]
    o = collapse.compute(_ladder_record(means, W))
    out = collapse.check(o)
    centred_fe, raw_fe = out[3], out[6]
    assert raw_fe.verdict == verdicts.DESCRIPTIVE and raw_fe.observed == verdicts.ONE_NET      # raw: "rises"
    assert centred_fe.verdict == verdicts.FAILS and abs(o.fe_minority_rise) < 1e-9
    assert o.fe_raw_minority_rise > 0.1


def test_the_ladder_rule_reads_every_rung():
    """Rising from the first rung to the last is not enough: a dip on the way fails the rule."""
    C, H = 4, 6
    rng = np.random.default_rng(0)
    base = rng.normal(size=(C, H))

    def W_with_minority_pull(t):     # the minority rows (classes 2, 3) pulled towards one direction
        W = base.copy()
        W[2:] = (1 - t) * W[2:] + t * np.ones(H)
        return W
    means = [np.abs(rng.normal(size=(C, H))) for _ in range(4)]
    monotone = collapse.compute(_ladder_record(means, [W_with_minority_pull(t) for t in (0, .3, .6, .9)]))
    dipping = collapse.compute(_ladder_record(means, [W_with_minority_pull(t) for t in (0, .6, .2, .9)]))
    assert collapse.check(monotone)[0].verdict == verdicts.ONE_NET
    assert dipping.w_minority_rise > 0 and collapse.check(dipping)[0].verdict == verdicts.FAILS
    assert collapse.check(monotone)[0].support is None      # one network per rung: no resampling


def test_a_minority_that_stays_put_under_the_class_mean_centre_is_no_collapse():
    """Probe (the artefact of the instance-weighted centre): the class means never move, but the
    majority's images outnumber the minority's more and more, so the instance-weighted global mean
    moves towards the majority and every centred minority mean carries the offset minority -
    majority: a "collapse" of -0.06 -> 0.53 in the book. Centred by the mean of the class means,
    the minority is flat and the voting row fails; the weighted centre is shown, not voting."""
    C, H = 4, 6
    rng = np.random.default_rng(1)
    fixed = np.abs(rng.normal(size=(C, H))) + 1.0
    W = [rng.normal(size=(C, H)) for _ in range(4)]
    ratios = (1, 10, 30, 100)
    o = collapse.compute(_ladder_record([fixed] * 4, W, counts=[[300, 300, max(1, 300 // r), max(1, 300 // r)]
                                                                 for r in ratios], ratios=ratios))
    fe, fe_majority, weighted = collapse.check(o)[3], collapse.check(o)[4], collapse.check(o)[5]
    assert abs(o.fe_minority_rise) < 1e-9 and fe.verdict == verdicts.FAILS and fe_majority.verdict == verdicts.FAILS
    assert o.fe_weighted_minority_rise > 0.2 and weighted.verdict == verdicts.DESCRIPTIVE   # the artefact, not voting
    assert o.simplex == -1.0 and abs(o.fe_minority_slope) < 1e-9 and abs(o.fe_minority_way) < 1e-9


def test_a_control_judges_the_observed_small_group_against_the_large_groups_draws():
    """Probe: EOS's gap and RQ7 compared a bootstrap of the 9-image minority with draws of the
    majority at 9 images, counting the small group's noise twice (CE seed 1 read 0.975 where
    P(matched >= observed) = 0.037). The observed small-group figure is judged against the draws:
    at their 96th percentile it holds within noise, at their 99th beyond it."""
    draws = np.linspace(0.0, 1.0, 1001)[:-1]                 # uniform draws of the majority at the minority's size
    for observed, expected in ((0.96, verdicts.NOISE), (0.99, verdicts.HOLDS)):
        o = rq_eos.EOS(gap_majority=0.1, gap_minority=observed, gap_majority_matched=float(draws.mean()),
                       gap_minority_matched=observed, n_matched=9, e2e_bac=70.0, eos_bac=71.0, best_other_bac=69.0,
                       boot={"gap_minority": observed + np.zeros(1000) + 0.5, "gap_majority": np.zeros(1000),
                             "gap_majority_matched": draws, "e2e_bac": np.full(1000, 70.0),
                             "eos_bac": np.full(1000, 71.0), "best_other_bac": np.full(1000, 69.0)})
        controlled = rq_eos.check(o, rq_eos.EOS())[1]
        assert controlled.verdict == expected and abs(controlled.support - observed) < 0.002


def test_an_interval_is_never_widened_to_hold_its_figure():
    """Probe: in 67 of 1,215 figure-study pairs the observed value lay outside its resamples'
    interval (features to describe a class: 22 against [16, 21]) and the tables stretched the
    interval to hold it without saying so."""
    o = rq6.RQ6(fd_majority=22, boot={"fd_majority": np.linspace(16, 21, 1000)})
    text = claims.with_interval(o, "fd_majority", ".0f")
    assert text.startswith("22 [16, 21]") and claims.OUTSIDE_MARK in text and o.outside("fd_majority")
    assert np.allclose(o.interval("fd_majority"), (16.125, 20.875))


@pytest.mark.parametrize("shift, expected", [(1.0, "holds"), (0.1, "holds (within noise)")])
def test_the_interval_shown_is_the_judged_one(shift, expected):
    """Probe: claims showed each figure's own interval ("100 [66, 100] vs 73 [70, 75]" read
    "holds"); the judged comparison is the difference over the same resamples. Its interval is now
    shown, and it excludes 0 exactly when the row holds beyond noise."""
    rng = np.random.default_rng(0)
    a, b = 71.0 + shift + rng.normal(0, 0.3, 1000), 71.0 + rng.normal(0, 0.3, 1000)
    o = rq_eos.EOS(eos_bac=71.0 + shift, e2e_bac=71.0, best_other_bac=60.0, gap_minority=1.0, gap_majority=0.5,
                   gap_minority_matched=1.0, gap_majority_matched=0.5,
                   boot={"eos_bac": a, "e2e_bac": b, "best_other_bac": np.full(1000, 60.0)})
    row = rq_eos.check(o, rq_eos.EOS())[2]
    lo, hi = np.percentile(a - b, [2.5, 97.5])
    assert row.verdict == expected
    assert f"difference {shift:+.2f} [{lo:+.2f}, {hi:+.2f}]" in row.ours
    assert (lo > 0) == (expected == "holds")
