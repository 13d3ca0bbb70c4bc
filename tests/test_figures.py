"""The typed figures per research question, on hand-made runs whose answers are known, and the
claims that read them under the paper's field names."""
from __future__ import annotations

from dataclasses import fields

import numpy as np
import pytest

from fraglib import claims, verdicts
from fraglib import figures as F
from fraglib.questions import BY_ID, QUESTIONS
from fraglib.rq import collapse, rq1, rq2, rq3, rq4, rq5, rq6, rq7
from fraglib.rq import eos as rq_eos
from fraglib.rq import procrustean as pt

from .helpers import fake_record, fake_run, paper_of


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
    assert [c.verdict for c in out] == [verdicts.ONE_NET, verdicts.ONE_NET, verdicts.DIRECTION, verdicts.ONE_NET]
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
