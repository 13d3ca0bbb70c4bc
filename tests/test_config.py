"""Configs validate on construction and name their runs."""
from __future__ import annotations

import pytest

from fraglib.config import PROFILES, RunConfig, regime_for


@pytest.mark.parametrize("field,value,choices", [
    ("dataset", "mnist", "fashion-mnist, cifar10, svhn, celeba"),
    ("loss", "hinge", "ce, focal, ldam-drw, cdt"),
    ("profile", "fast", "paper, quick, tiny"),
    ("model", "vgg16", "resnet32, resnet56, smallnet"),
    ("selection", "train", "val, test"),
])
def test_unknown_names_list_the_valid_choices(field, value, choices):
    kwargs = {"dataset": "fashion-mnist", "loss": "ce", "imbalance_ratio": 10, "profile": "quick"}
    kwargs[field] = value
    with pytest.raises(ValueError, match=choices):
        RunConfig.make(**kwargs)


def test_unknown_override_is_refused():
    with pytest.raises(ValueError, match="Unknown config key"):
        RunConfig.make("fashion-mnist", "ce", 10, learning_rate=0.3)


def test_regime_fields_can_be_overridden_and_change_the_hash():
    a = RunConfig.make("fashion-mnist", "ce", 10)
    b = RunConfig.make("fashion-mnist", "ce", 10, epochs=3)
    assert b.regime.epochs == 3 and a.digest() != b.digest()
    assert RunConfig.make("fashion-mnist", "ce", 10).digest() == a.digest()


def test_key_is_readable_and_round_trips():
    cfg = RunConfig.make("cifar10", "ldam-drw", 100, profile="paper", seed=3)
    assert cfg.key().startswith("cifar10/paper/ratio=100-exp/loss=ldam-drw/seed=3-")
    assert cfg.model == "resnet32" and cfg.regime.epochs == 200
    assert RunConfig.from_dict(cfg.to_dict()) == cfg
    assert RunConfig.make("fashion-mnist", "ce", 1).key().split("/")[2] == "balanced"


def test_paper_regime_is_cao_et_al():
    r = PROFILES["paper"]
    assert (r.epochs, r.batch_size, r.lr, r.momentum, r.weight_decay) == (200, 128, 0.1, 0.9, 2e-4)
    assert [r.lr_at(e) for e in (0, 4, 5, 159)] == pytest.approx([0.02, 0.1, 0.1, 0.1])
    assert r.lr_at(160) == pytest.approx(0.001) and r.lr_at(180) == pytest.approx(0.00001)
    assert r.drw_start_epoch == 160 and r.crop_padding == 4 and r.flip
    celeba = regime_for("paper", "celeba")
    assert celeba.epochs == 50 and RunConfig.make("celeba", "ce", 20, profile="paper").model == "resnet56"
