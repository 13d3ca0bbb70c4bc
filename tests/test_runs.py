"""The run store: train once, load after; resume after a kill; never load a damaged run."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import fraglib.runs as R
from fraglib.fileio import read_json, sha256
from fraglib.train import Interrupted

from .helpers import tiny

REPO = Path(__file__).resolve().parents[1]


def _weights(run):
    return torch.load(run.folder / "model.pt", weights_only=True)


def _same_weights(a, b):
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_stored_run_is_loaded_not_retrained(shared_store, monkeypatch):
    run = shared_store.get(tiny(), progress=False)
    files = sorted(p.name for p in run.folder.iterdir())
    assert {"config.json", "model.pt", "history.json", "metrics.json"} <= set(files)
    assert "checkpoint.pt" not in files
    m = run.metrics
    assert m["fraglib_version"] and m["model_sha256"] == sha256(run.folder / "model.pt")
    assert len(m["test_class_acc"]) == 10 and 0 <= m["test_bac"] <= 1
    assert len(run.history) == tiny().regime.epochs
    monkeypatch.setattr(R, "train", lambda *a, **k: pytest.fail("trained a stored run"))
    again = shared_store.get(tiny(), progress=False)
    assert again.folder == run.folder and again.metrics == m
    assert not shared_store.get(tiny(), train_if_missing=False) is None


def test_missing_run_without_training_is_a_clear_error(store):
    with pytest.raises(LookupError, match="no complete run"):
        store.get(tiny(), train_if_missing=False)


def test_resumed_run_ends_as_an_uninterrupted_one(store, shared_store):
    whole = shared_store.get(tiny(), progress=False)
    with pytest.raises(Interrupted):
        store.get(tiny(), progress=False, stop_after_epoch=1)
    folder = store.folder(tiny())
    assert (folder / "checkpoint.pt").exists() and not (folder / "metrics.json").exists()
    with pytest.raises(LookupError):
        store.get(tiny(), train_if_missing=False)  # a partial run is never loaded
    resumed = store.get(tiny(), progress=False)
    assert _same_weights(_weights(resumed), _weights(whole))
    assert resumed.metrics["test_bac"] == whole.metrics["test_bac"]
    assert [h["loss"] for h in resumed.history] == [h["loss"] for h in whole.history]


@pytest.mark.slow
def test_killed_process_resumes_from_its_checkpoint(tmp_path, shared_store):
    """A real SIGKILL mid-training, then a second process finishes the run."""
    whole = shared_store.get(tiny(), progress=False)
    cmd = [sys.executable, "-m", "fraglib", "train", "--profile", "tiny", "--ratio", "100", "--quiet",
           "--runs", str(tmp_path / "runs")]
    folder = tmp_path / "runs" / tiny().key()
    proc = subprocess.Popen(cmd, cwd=REPO)
    deadline = time.time() + 120
    while not (folder / "checkpoint.pt").exists():
        assert proc.poll() is None and time.time() < deadline, "trainer ended before its first checkpoint"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (folder / "metrics.json").exists()
    subprocess.run(cmd, cwd=REPO, check=True)
    finished = R.RunStore(tmp_path / "runs").get(tiny(), train_if_missing=False)
    assert _same_weights(_weights(finished), _weights(whole))


@pytest.mark.parametrize("damage", ["model", "metrics", "config"])
def test_a_damaged_run_is_retrained_never_loaded(store, damage):
    run = store.get(tiny(), progress=False)
    before = run.metrics["test_bac"]
    target = {"model": "model.pt", "metrics": "metrics.json", "config": "config.json"}[damage]
    path = run.folder / target
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])  # half-written file
    assert not store.is_complete(tiny())
    rerun = store.get(tiny(), progress=False)
    assert store.is_complete(tiny()) and rerun.metrics["test_bac"] == before


def test_a_damaged_checkpoint_starts_over(store, shared_store, capsys):
    with pytest.raises(Interrupted):
        store.get(tiny(), progress=False, stop_after_epoch=1)
    (store.folder(tiny()) / "checkpoint.pt").write_bytes(b"garbage")
    run = store.get(tiny(), progress=False)
    assert "checkpoint not used, training from scratch" in capsys.readouterr().out
    assert _same_weights(_weights(run), _weights(shared_store.get(tiny(), progress=False)))


@pytest.mark.slow
def test_two_processes_train_a_run_once(tmp_path):
    code = ("import sys; from fraglib.runs import RunStore; from fraglib.config import RunConfig;"
            "RunStore(sys.argv[1]).get(RunConfig.make('fashion-mnist','focal',10,profile='tiny'))")
    procs = [subprocess.Popen([sys.executable, "-c", code, str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True) for _ in range(2)]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs)
    assert sum(o.count("training fashion-mnist") for o in outs) == 1
    store = R.RunStore(tmp_path)
    assert store.is_complete(tiny("focal", 10))
    assert len(read_json(store.folder(tiny("focal", 10)) / "history.json")["epochs"]) == 3


def test_store_lists_its_complete_runs(store):
    store.get(tiny(), progress=False)
    with pytest.raises(Interrupted):
        store.get(tiny(ratio=10), progress=False, stop_after_epoch=1)
    assert [r.config for r in store.runs()] == [tiny()]


def test_run_model_reproduces_stored_test_accuracy(shared_store):
    from fraglib.train import evaluate
    run = shared_store.get(tiny(), progress=False)
    assert evaluate(run.model("cpu"), run.data, "cpu")["test_bac"] == run.metrics["test_bac"]
