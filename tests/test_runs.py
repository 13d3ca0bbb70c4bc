"""The run store: train once, load after; resume after a kill; never load a damaged run."""
from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from filelock import FileLock

import fraglib.runs as R
from fraglib.__main__ import main
from fraglib.fileio import (
    read_json,
    sha256,
)
from fraglib.train import Interrupted

from .helpers import REPO, tiny



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
    monkeypatch.setattr("fraglib.train.train", lambda *a, **k: pytest.fail("trained a stored run"))
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
    folder = R.RunStore(tmp_path / "runs").folder(tiny())
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


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "fraglib", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


# -- writers and readers of a run folder ---------------------------------------------------------------
WRITER = """
import sys, time
from fraglib.runs import RunStore
from fraglib.config import RunConfig
store = RunStore(sys.argv[1])
run = store.get(RunConfig.make('fashion-mnist', 'ce', 100, profile='tiny'), train_if_missing=False)
ok = bad = 0
end = time.time() + float(sys.argv[2])
i = 0
while time.time() < end:
    i += 1
    try:
        run.derived('probe', {'i': i}, lambda: list(range(2000)))
        ok += 1
    except OSError as e:
        bad += 1
print(ok, bad)
"""


@pytest.mark.slow
def test_a_derived_write_survives_a_reader_asking_for_the_run(done):
    """Probe: `RunStore.get` tidied derived/ and removed the writer's temporary file: 2,806 of
    3,871 writes failed in a 60 s loop."""
    store, folder = done
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(store.root), "6"], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    end = time.time() + 6
    reads = 0
    while time.time() < end:
        store.get(tiny(), train_if_missing=False)
        reads += 1
    ok, bad = map(int, writer.communicate(timeout=60)[0].split())
    assert reads > 50 and ok > 50 and bad == 0, (reads, ok, bad)


def test_temporaries_left_by_a_kill_are_removed_on_the_next_access(done):
    store, folder = done
    left = [folder / ".model.pt.abc123.tmp", folder / "derived" / ".eos.json.x1.tmp"]
    for p in left:
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b"half")
    store.get(tiny(), progress=False)
    assert not any(p.exists() for p in left)


def test_a_process_waiting_on_a_lock_says_for_whom(tmp_path, capsys):
    folder = tmp_path / "run"
    folder.mkdir()
    held = threading.Event()

    def hold():   # another holder (a thread: filelock refuses a second holder in one thread)
        with FileLock(str(folder / ".lock")):
            (folder / ".lock.owner").write_text('{"pid": 4242, "host": "labserver", "since": "now"}')
            held.set()
            time.sleep(0.5)
    threading.Thread(target=hold).start()
    held.wait()
    with R.locked(folder, "the run X", poll=0.1):
        pass
    out = capsys.readouterr().out
    assert "waiting for the run X: process 4242 on labserver" in out


def test_a_store_or_data_folder_that_is_a_file_is_one_line(tmp_path):
    """Probes: --runs / FRAGLIB_DATA naming a file gave tracebacks."""
    f = tmp_path / "afile"
    f.write_text("x")
    r = cli("list", "--runs", str(f))
    assert r.returncode == 2 and "is a file, not a folder" in r.stderr and "Traceback" not in r.stderr
    r = cli("train", "--profile", "tiny", "--runs", str(tmp_path / "runs"), "--quiet", env={"FRAGLIB_DATA": str(f)})
    assert r.returncode == 2 and "is a file, not a folder" in r.stderr and "Traceback" not in r.stderr
    r = cli("train", "--profile", "tiny", "--seed", str(10 ** 14), "--runs", str(tmp_path / "runs"))
    assert r.returncode == 2 and "seed must be a whole number" in r.stderr


def test_a_relative_store_is_resolved_once(tmp_path, monkeypatch):
    """Probe: FRAGLIB_RUNS relative with `book --root` elsewhere trained the runs into two stores."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FRAGLIB_RUNS", "rel-runs")
    root = R.RunStore().root
    monkeypatch.chdir(REPO)
    assert root == tmp_path / "rel-runs" and root.is_absolute()


def test_a_read_only_store_or_data_folder_is_one_line(tmp_path, monkeypatch, capsys):
    """Probes: a missing run in a read-only store, a read-only data folder: tracebacks or raw
    library messages. (Simulated: the tests may run as root, whom permissions do not stop.)"""

    def read_only(self, *a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))
    monkeypatch.setattr(Path, "mkdir", read_only)
    code = main(["train", "--profile", "tiny", "--runs", str(tmp_path / "ro-runs"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Permission denied" in err and "ro-runs" in err and "Fix:" in err
    assert len(err.strip().splitlines()) == 1
