"""Configs validate on construction and name their runs."""
from __future__ import annotations

import os

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


# -- precision by capability (issue 8) ----------------------------------------------------------

import torch  # noqa: E402

import fraglib.device as Dv  # noqa: E402
from fraglib.__main__ import build_parser, config_from_args

from .helpers import tiny


@pytest.mark.parametrize("device,cpu_bf16,cuda_bf16,expected", [
    ("cpu", False, False, "fp32"),   # AVX2 without native bf16: bf16 would be emulated
    ("cpu", True, False, "bf16"),    # AVX512-BF16 / AMX
    ("cuda", False, True, "bf16"),   # a GPU with bf16 units
    ("cuda", True, False, "fp32"),   # an older GPU, whatever the CPU can do
    ("mps", True, True, "fp32"),     # anything else: fp32
])
def test_auto_precision_follows_the_device_capability(monkeypatch, device, cpu_bf16, cuda_bf16, expected):
    monkeypatch.setattr(Dv, "_cpu_bf16", lambda: cpu_bf16)
    monkeypatch.setattr(Dv, "_cuda_bf16", lambda: cuda_bf16)
    assert Dv.resolve_precision("auto", device) == expected
    assert Dv.resolve_precision("fp32", device) == "fp32"  # an explicit choice is kept
    assert Dv.resolve_precision("bf16", device) == "bf16"


@pytest.mark.precision
def test_auto_precision_on_this_machine_matches_torchs_report_unless_forced():
    forced = os.environ.get(Dv.CPU_BF16_ENV)
    native = Dv.CPU_BF16_CHOICES[forced] if forced else torch.ops.mkldnn._is_mkldnn_bf16_supported()
    assert Dv.resolve_precision("auto", "cpu") == ("bf16" if native else "fp32")


@pytest.mark.parametrize("kind,expected", [("native", "bf16"), ("emulated", "fp32")])
def test_the_cpu_kind_can_be_forced_for_the_tests_of_the_other_kind(monkeypatch, kind, expected):
    """Issue 16: precision resolution is injectable (FRAGLIB_CPU_BF16), so the suite runs as if on
    the other kind of CPU; a wrong value names the choices."""
    monkeypatch.setenv(Dv.CPU_BF16_ENV, kind)
    assert RunConfig.make("fashion-mnist", "ce", 100, device="cpu").regime.precision == expected
    monkeypatch.setenv(Dv.CPU_BF16_ENV, "yes")
    with pytest.raises(ValueError, match="native, emulated"):
        Dv.resolve_precision("auto", "cpu")


def test_resolved_precision_is_part_of_the_runs_identity(monkeypatch):
    monkeypatch.setattr(Dv, "_cpu_bf16", lambda: False)
    fp32 = RunConfig.make("fashion-mnist", "ce", 100, device="cpu")
    monkeypatch.setattr(Dv, "_cpu_bf16", lambda: True)
    bf16 = RunConfig.make("fashion-mnist", "ce", 100, device="cpu")
    assert (fp32.regime.precision, bf16.regime.precision) == ("fp32", "bf16")
    assert fp32.digest() != bf16.digest() and fp32.key() != bf16.key()
    assert "fp32" in fp32.label() and "bf16" in bf16.label()
    assert "-fp32-" in fp32.key() and RunConfig.from_dict(bf16.to_dict()) == bf16


def test_unknown_precision_lists_the_choices():
    with pytest.raises(ValueError, match="auto, bf16, fp32"):
        RunConfig.make("fashion-mnist", "ce", 100, precision="fp16")


def test_default_config_resolves_its_own_model_and_precision():
    cfg = RunConfig()
    assert cfg.model == "smallnet" and cfg.regime.precision in ("bf16", "fp32")
    assert RunConfig(profile="paper", dataset="celeba").model == "resnet56"


# -- one place makes a run's config -----------------------------------------------------------------
def cli_config(*args) -> RunConfig:
    return config_from_args(build_parser().parse_args(["train", *args]))


@pytest.mark.parametrize("override", [{"precision": "auto"}, {"batch_size": 64}, {"lr": 0.05},
                                      {"precision": None}])
def test_overriding_a_regime_field_keeps_the_profiles_selection_window(override):
    """Probe: make(profile='quick', precision='auto') reset select_from_epoch from 36 to 0."""
    assert RunConfig.make(profile="quick", **override).regime.select_from_epoch == 36


def test_fewer_epochs_move_the_selection_window_with_them():
    assert RunConfig.make(profile="quick", epochs=20).regime.select_from_epoch == 18
    assert RunConfig.make(profile="quick", epochs=20, select_from_epoch=3).regime.select_from_epoch == 3
    assert RunConfig.make(profile="paper", epochs=20).regime.select_from_epoch == 16   # from 160 of 200


def test_whole_float_seeds_are_accepted_like_whole_numbers():
    assert cli_config("--seed", "1.0", "--profile", "tiny").seed == 1
    assert build_parser().parse_args(["book", "--seeds", "3.0"]).seeds == 3


# -- bad input ------------------------------------------------------------------------------------
def test_a_ratio_that_empties_a_class_names_the_largest_valid_ratio():
    """Probes: --ratio 1e9 trained with 7 empty classes; imbalance_ratio=inf was accepted."""
    with pytest.raises(ValueError, match="largest valid ratio is 150"):
        tiny(ratio=1e9)
    with pytest.raises(ValueError, match="finite number >= 1"):
        tiny(ratio=float("inf"))
    assert tiny(ratio=150).imbalance_ratio == 150


@pytest.mark.parametrize("seed", [10 ** 14, 1.5, -1, "x", True])
def test_a_bad_seed_is_refused_where_the_config_is_made(seed):
    """Probes: --seed 10**14 overflowed; seed=1.5 was accepted, then failed."""
    with pytest.raises(ValueError, match="seed must be a whole number"):
        tiny(seed=seed)


def test_seed_forms_are_one_run():
    """Probes: seed='0' and seed=0 were two runs; papermill's -p seed 0.0 failed cryptically."""
    assert tiny(seed="0").key() == tiny(seed=0.0).key() == tiny(seed=0).key()


@pytest.mark.parametrize("field", ["epochs", "batch_size"])
def test_zero_epochs_or_batch_is_a_clear_error(field):
    with pytest.raises(ValueError, match=f"{field} must be a whole number >= 1"):
        tiny(**{field: 0})


def test_the_default_config_is_valid():
    """Probe: RunConfig() failed on its own default model ""."""
    assert RunConfig().model == "resnet32" or RunConfig().model == "smallnet"
