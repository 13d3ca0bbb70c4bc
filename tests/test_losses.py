"""Losses against their definitions, computed by hand."""
from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from fraglib.config import RunConfig
from fraglib.losses import (
    CDT,
    LDAMDRW,
    Focal,
    build_loss,
    class_balanced_weights,
    ldam_margins,
)


def test_ldam_margins_scale_as_n_to_minus_quarter():
    m = ldam_margins([10000, 625, 16], 0.5)
    # n^-1/4 = 0.1, 0.2, 0.5; the largest is already 0.5
    assert m.tolist() == pytest.approx([0.1, 0.2, 0.5])
    assert ldam_margins([10000, 625], 0.5).tolist() == pytest.approx([0.25, 0.5])
    assert m.max().item() == pytest.approx(0.5)


def test_class_balanced_weights():
    w = class_balanced_weights([100, 10], 0.9999)
    raw = [(1 - 0.9999) / (1 - 0.9999 ** 100), (1 - 0.9999) / (1 - 0.9999 ** 10)]
    assert w.tolist() == pytest.approx([2 * r / sum(raw) for r in raw], rel=1e-5)


def test_ldam_drw_by_hand():
    counts, s = [100, 10], 30.0
    loss = LDAMDRW(counts, 0.5, s, 0.9999, drw_start_epoch=5)
    logits = torch.tensor([[3.0, 1.0], [2.0, 4.0]])
    y = torch.tensor([0, 1])
    m = ldam_margins(counts, 0.5) * s
    shifted = torch.tensor([[3.0 - m[0], 1.0], [2.0, 4.0 - m[1]]])
    assert loss(logits, y, 0).item() == pytest.approx(F.cross_entropy(shifted, y).item(), rel=1e-6)
    w = class_balanced_weights(counts, 0.9999)
    assert loss(logits, y, 5).item() == pytest.approx(F.cross_entropy(shifted, y, weight=w).item(), rel=1e-6)


def test_focal_reduces_to_ce_at_gamma_zero_and_down_weights_easy_examples():
    logits, y = torch.tensor([[4.0, 0.0], [0.2, 0.0]]), torch.tensor([0, 0])
    assert Focal(0.0)(logits, y, 0).item() == pytest.approx(F.cross_entropy(logits, y).item())
    ce = F.cross_entropy(logits, y, reduction="none")
    expected = ((1 - torch.exp(-ce)) * ce).mean()
    assert Focal(1.0)(logits, y, 0).item() == pytest.approx(expected.item())


def test_cdt_divides_training_logits_by_class_temperatures():
    loss = CDT([100, 25], gamma=0.5)
    assert loss.temperature.tolist() == pytest.approx([1.0, 2.0])
    logits, y = torch.tensor([[1.0, 4.0]]), torch.tensor([1])
    assert loss(logits, y, 0).item() == pytest.approx(F.cross_entropy(torch.tensor([[1.0, 2.0]]), y).item())


def test_build_loss_by_name():
    for name, cls in (("focal", Focal), ("ldam-drw", LDAMDRW), ("cdt", CDT)):
        assert isinstance(build_loss(RunConfig.make("fashion-mnist", name, 10), [10] * 10), cls)
    assert not math.isnan(build_loss(RunConfig.make("fashion-mnist", "ce", 10), [1]).forward(
        torch.zeros(1, 2), torch.tensor([0]), 0).item())
