"""`python -m fraglib`: bad input fails with the valid choices; train prints the run."""
from __future__ import annotations

import pytest

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


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
