"""`python -m fraglib`: bad input fails with the valid choices; train prints the run."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import fraglib.runs as R
from fraglib.__main__ import build_parser, config_from_args, main
from fraglib.config import MATRIX, PROFILES, RunConfig
from fraglib.device import CPU_BF16_ENV
from fraglib.fileio import (
    write_bytes,
)
from fraglib.plan import plan

from .helpers import REPO



def fraglib(*args, **kw):
    return subprocess.run([sys.executable, "-m", "fraglib", *args], cwd=REPO, capture_output=True,
                          text=True, **kw)


def test_unknown_loss_lists_choices():
    r = fraglib("train", "--loss", "hinge")
    assert r.returncode == 2 and "ce" in r.stderr and "ldam-drw" in r.stderr and "hinge" in r.stderr


def test_ratio_below_one_is_a_clear_error():
    r = fraglib("train", "--ratio", "0.5", "--profile", "tiny")
    assert r.returncode == 2 and "imbalance_ratio must be a finite number >= 1" in r.stderr


@pytest.mark.slow
def test_train_then_list(tmp_path):
    r = fraglib("train", "--profile", "tiny", "--loss", "cdt", "--quiet", "--runs", str(tmp_path))
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["train_counts"] == [240, 143, 86, 51, 30, 18, 10, 6, 4, 2]
    listed = fraglib("list", "--runs", str(tmp_path)).stdout
    assert "cdt" in listed and out["folder"] in listed


def test_seeds_below_one_is_a_clear_error(tmp_path):
    r = subprocess.run([sys.executable, "-m", "fraglib", "book", "--profile", "tiny", "--seeds", "0",
                        "--root", str(tmp_path)], capture_output=True, text=True, cwd=REPO)
    assert r.returncode == 2 and "--seeds: must be a whole number >= 1" in r.stderr


# -- one place makes a run's config -----------------------------------------------------------------
def cli_config(*args) -> RunConfig:
    return config_from_args(build_parser().parse_args(["train", *args]))


@pytest.mark.precision
@pytest.mark.parametrize("cpu", ["native", "emulated"])
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_the_cli_names_the_books_runs_on_either_kind_of_cpu(monkeypatch, profile, cpu):
    """Probe: on a bf16-native CPU `train --profile tiny` trained a bf16 run while the book and the
    tests named the tiny profile's fp32 run; `train --profile quick` chose its epoch from all 40."""
    monkeypatch.setenv(CPU_BF16_ENV, cpu)
    runs = [c for c in plan(profile, 2).runs.values()
            if c.procrustean == "none" and not c.clean_history]   # the CLI has no mixing, no clean history
    assert len(runs) >= len(MATRIX[profile]) + 1
    for c in runs:
        args = ["--dataset", c.dataset, "--loss", c.loss, "--ratio", f"{c.imbalance_ratio:g}", "--profile",
                profile, "--imbalance-type", c.imbalance_type, "--seed", str(c.seed), "--device", "cpu"]
        assert cli_config(*args).key() == c.key()


@pytest.mark.precision
def test_the_cli_prints_the_books_run_folder(tmp_path):
    """The same through a real command line (a new process resolves precision on its own)."""
    dataset, loss, ratio = MATRIX["tiny"][0]
    out = subprocess.run([sys.executable, "-m", "fraglib", "train", "--profile", "tiny", "--loss", loss,
                          "--runs", str(tmp_path), "--dry-run"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    expected = R.RunStore(tmp_path).folder(RunConfig.make(dataset, loss, ratio, profile="tiny"))
    assert json.loads(out.stdout)["folder"] == str(expected)


# -- bad input: one line, before any work ------------------------------------------------------------
@pytest.mark.parametrize("args,needle", [
    (["book", "--workers", "0"], "--workers: must be a whole number >= 1"),
    (["book", "--workers", "-1"], "--workers: must be a whole number >= 1"),
    (["book", "--seeds", "0"], "--seeds: must be a whole number >= 1"),
    (["train", "--ratio", "-5", "--dry-run"], "imbalance_ratio must be a finite number >= 1"),
    (["train", "--loss", "nope"], "invalid choice: 'nope'"),
    # probes of the reliability review: a traceback after "[1/3]", 300 s of silence, a silent local build
    (["book", "--profile", "tiny", "--device", "cuda:99"], "--device cuda:99: "),
    (["train", "--profile", "tiny", "--device", "tpu"], "Unknown device 'tpu'"),
    (["book", "--profile", "tiny", "--seeds", "100000"], "seeds (seeds 0 .. N-1 are trained) must be a whole number between 1 and 100"),
    (["book", "--profile", "tiny", "--partition", "main", "--time", "240"], "--partition, --time: Slurm options need --executor slurm"),
])
def test_bad_options_are_one_line_before_any_work(tmp_path, args, needle):
    """Probes: `book --workers 0` was read as one per core; `--workers -1` trained the whole matrix
    and failed at the page step."""
    env = {**os.environ, "FRAGLIB_RUNS": str(tmp_path / "runs")}
    r = subprocess.run([sys.executable, "-m", "fraglib", *args], cwd=REPO, capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 2 and needle in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "runs").exists()


def test_a_full_disk_names_the_path(tmp_path, monkeypatch, capsys):
    """Probe: "No space left on device: ?" named no path."""
    target = tmp_path / "runs" / "metrics.json"

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OSError) as e:
        write_bytes(b"x", target)
    assert e.value.filename == str(target)
    from fraglib.__main__ import os_error_line
    assert str(target) in os_error_line(e.value) and "?" not in os_error_line(e.value)
    assert not [p for p in target.parent.iterdir()]   # nothing half-written kept


def test_main_reports_an_interrupt_as_one_line(monkeypatch, capsys):
    import fraglib.runs
    monkeypatch.setattr(fraglib.runs.RunStore, "get", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    assert main(["train", "--profile", "tiny", "--quiet"]) == 130
    assert "interrupted" in capsys.readouterr().err
