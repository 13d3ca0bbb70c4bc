"""Each verdict rule on hand-made figures, the paper-row fallback, and the size-matched control."""
from __future__ import annotations

import numpy as np
import pytest

from fraglib import claims, figures as F
from fraglib.paper import paper_figures

from .helpers import fake_record, fake_run


def around(value, spread, B=1000, seed=0):
    return value + spread * np.random.default_rng(seed).standard_normal(B)


@pytest.mark.parametrize("direction,size,support,expected", [
    (True, None, 0.99, claims.HOLDS), (True, True, 0.975, claims.HOLDS), (True, None, None, claims.HOLDS),
    (True, None, 0.90, claims.NOISE), (True, True, 0.5, claims.NOISE),
    (True, False, 0.99, claims.DIRECTION), (False, True, 0.99, claims.FAILS), (False, None, 0.01, claims.FAILS)])
def test_verdict_rules(direction, size, support, expected):
    assert claims.verdict(direction, size, support) == expected


def rq1(bal, imb, retrain, spread):
    boot = {"bal_bac": around(bal, spread, seed=1), "bac": around(imb, spread, seed=2),
            "retrain_bac": around(retrain, spread, seed=3)}
    return F.RQ1(bal_bac=bal, bac=imb, retrain_bac=retrain, boot=boot)


def test_a_claim_holds_only_when_its_interval_agrees():
    sure = claims.rq1_claims(rq1(80.0, 60.0, 70.0, spread=1.0), F.RQ1())
    assert [c.verdict for c in sure] == [claims.HOLDS, claims.HOLDS]
    assert sure[1].support > 0.975 and "[" in sure[1].ours           # 70.00 [68.0, 72.0] vs ...
    noisy = claims.rq1_claims(rq1(80.0, 69.0, 70.0, spread=3.0), F.RQ1())
    assert noisy[0].verdict == claims.HOLDS                            # 70 < 80 beyond noise
    assert noisy[1].verdict == claims.NOISE and 0.5 < noisy[1].support < 0.975   # 70 > 69 within noise
    assert "within noise" in claims.sentence(noisy).lower()
    reversed_ = claims.rq1_claims(rq1(80.0, 72.0, 70.0, spread=1.0), F.RQ1())
    assert reversed_[1].verdict == claims.FAILS


def test_direction_only_when_the_stated_size_is_not_reached():
    boot = {"largest_ce_ratio": around(1.5, 0.05), "bal_largest_ce_ratio": around(1.0, 0.05),
            "top_ce_share_ratio": around(3.0, 0.1)}
    o = F.RQ4(largest_ce_ratio=1.5, bal_largest_ce_ratio=1.0, top_ce_share_ratio=3.0, boot=boot)
    out = claims.rq4_claims(o, F.RQ4())
    assert [c.verdict for c in out] == [claims.DIRECTION, claims.HOLDS, claims.HOLDS]


def test_weights_are_exact_and_the_run_outside_the_regime_tests_nothing():
    o = F.RQ5(w_sum_majority=6.5, w_sum_minority=3.7, w_max=1.0, ce_max=5.0, boot={"ce_max": around(5.0, 0.2)})
    out = claims.rq5_claims(o, F.RQ5())
    assert out[0].support is None and out[0].row()["resamples holding"] == "exact"
    assert out[0].verdict == claims.HOLDS and out[1].verdict == claims.HOLDS
    flagged = claims.judge(claims.rq5_claims(o, F.RQ5()), in_regime=False)
    assert {c.verdict for c in flagged} == {claims.OUTSIDE}
    assert [c.ours for c in flagged] == [c.ours for c in out]
    assert "outside the paper's regime" in claims.sentence(flagged)


def test_the_paper_row_falls_back_to_cifar10_and_is_a_dash_where_the_paper_is_silent():
    p, label = paper_figures("fashion-mnist", "focal", F.RQ4)
    assert p.largest_ce_ratio == 4.01 and "CIFAR-10" in label
    p, label = paper_figures("fashion-mnist", "cdt", F.RQ1)
    assert p.bal_bac is None and "no such experiment" in label
    out = claims.rq1_claims(rq1(80.0, 60.0, 70.0, 1.0), p)
    assert out[0].paper == "– vs –"


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


def test_the_size_matched_control_separates_sample_size_from_diversity():
    """Equally diverse classes: the raw count says the majority needs more features (it has 40x
    the images); at the minority's size it does not, and the control's claim says so. The old
    definition (no control) would report the raw claim alone."""
    same = F.rq6(fake_record(*(2 * [_diversity_run(minority_features=64)])))
    raw, matched = claims.rq6_claims(same, F.RQ6())[:2]
    assert same.fd_majority > same.fd_minority and raw.verdict in (claims.HOLDS, claims.NOISE)
    assert matched.verdict in (claims.NOISE, claims.FAILS)
    assert abs(same.fd_majority_matched - same.fd_minority_matched) < 6
    # a truly narrower minority (top-7 from 14 features): the claim survives the control
    narrow = F.rq6(fake_record(*(2 * [_diversity_run(minority_features=14)])))
    raw, matched = claims.rq6_claims(narrow, F.RQ6())[:2]
    assert raw.verdict == claims.HOLDS and matched.verdict == claims.HOLDS
    assert narrow.n_matched == 10 and narrow.features_to_describe_matched[1] == narrow.fd_minority
