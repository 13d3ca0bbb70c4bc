"""Issue 11: nothing damaged is ever trusted, only what is damaged is redone, and bad input gets
one clear line. Each test reproduces a probe that failed before (named in its docstring)."""
from __future__ import annotations

import errno
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import torch
from filelock import FileLock

import fraglib.runs as R
from fraglib.config import RunConfig
from fraglib.fileio import Damaged, load_verified, read_json, save_verified, sha256, \
    torch_bytes, write_json
from fraglib.study import Study
from fraglib.train import Interrupted

from .helpers import no_training, tiny

REPO = Path(__file__).resolve().parents[1]




def test_removed_model_is_retrained_and_listing_does_not_crash(done):
    """Probe: model.pt removed -> `train` and `list` crashed with FileNotFoundError."""
    store, folder = done
    (folder / "model.pt").unlink()
    assert store.runs() == [] and not store.is_complete(tiny())
    assert store.get(tiny(), progress=False).metrics["model_sha256"] == sha256(folder / "model.pt")


@pytest.mark.parametrize("content", ["[]", "null", '{"test_bac": 0.9}'])
def test_a_malformed_metrics_file_is_rebuilt_from_history_and_model(done, content, monkeypatch):
    """Probes: metrics.json holding [] or null crashed (AttributeError / TypeError)."""
    store, folder = done
    before = read_json(folder / "metrics.json")
    (folder / "metrics.json").write_text(content)
    no_training(monkeypatch)
    run = store.get(tiny(), progress=False)
    assert run.metrics["test_bac"] == before["test_bac"] and run.metrics["model_sha256"] == before["model_sha256"]


def test_a_hand_edited_figure_is_noticed_and_recomputed(done, monkeypatch):
    """Probe: test BAC 0.16 -> 0.96 in metrics.json went unnoticed."""
    store, folder = done
    text = (folder / "metrics.json").read_text()
    true_bac = read_json(folder / "metrics.json")["test_bac"]
    (folder / "metrics.json").write_text(text.replace(f'"test_bac": {true_bac}', '"test_bac": 0.96'))
    with pytest.raises(Damaged, match="does not match its sha256"):
        read_json(folder / "metrics.json")
    no_training(monkeypatch)
    assert store.get(tiny(), progress=False).metrics["test_bac"] == true_bac


def test_a_malformed_config_file_is_not_a_traceback(done):
    """Probe: config.json holding [] crashed."""
    store, folder = done
    (folder / "config.json").write_text("[]")
    assert store.runs() == [] and not store.is_complete(tiny())


def test_a_damaged_history_costs_only_the_history(done, monkeypatch, capsys):
    """Probe: a damaged history.json deleted a good model.pt (and its embeddings) and retrained."""
    store, folder = done
    model_before = sha256(folder / "model.pt")
    epochs = read_json(folder / "history.json")["epochs"]
    (folder / "history.json").write_text('{"epochs": []')
    no_training(monkeypatch)
    run = store.get(tiny(), progress=True)
    assert sha256(folder / "model.pt") == model_before and run.history == epochs
    assert read_json(folder / "history.json")["epochs"] == epochs
    assert "history.json" in capsys.readouterr().out


def test_model_digest_is_the_same_for_the_same_weights():
    """Probe: model_sha256 differed between two identical runs (torch.save names the archive after
    its random temporary file)."""
    state = {"w": torch.arange(6.0).reshape(2, 3)}
    assert torch_bytes(state) == torch_bytes({"w": torch.arange(6.0).reshape(2, 3)})


def test_a_checkpoint_with_a_flipped_bit_or_an_empty_dict_is_not_resumed(store, shared_store, capsys):
    """Probes: a bit-flipped checkpoint was loaded (another model, marked complete); one holding {}
    failed with `error: 'model'` on every retry."""
    with pytest.raises(Interrupted):
        store.get(tiny(), progress=False, stop_after_epoch=1)
    ckpt = store.folder(tiny()) / "checkpoint.pt"
    blob = bytearray(ckpt.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    ckpt.write_bytes(bytes(blob))
    with pytest.raises(Damaged):
        load_verified(ckpt, weights_only=False)
    run = store.get(tiny(), progress=False)
    assert "checkpoint not used" in capsys.readouterr().out
    whole = shared_store.get(tiny(), progress=False)
    assert run.metrics["model_sha256"] == whole.metrics["model_sha256"]   # digests equal for equal weights
    save_verified({}, ckpt)
    store.remove(tiny())
    with pytest.raises(Interrupted):
        store.get(tiny(), progress=False, stop_after_epoch=1)
    save_verified({}, ckpt)
    assert store.get(tiny(), progress=False).metrics["model_sha256"] == whole.metrics["model_sha256"]


def test_temporaries_left_by_a_kill_are_removed_on_the_next_access(done):
    store, folder = done
    left = [folder / ".model.pt.abc123.tmp", folder / "derived" / ".eos.json.x1.tmp"]
    for p in left:
        p.parent.mkdir(exist_ok=True)
        p.write_bytes(b"half")
    store.get(tiny(), progress=False)
    assert not any(p.exists() for p in left)


def test_stored_files_are_group_readable_where_the_folder_is(tmp_path):
    old = os.umask(0o077)   # a strict umask: mkstemp's 0600 used to hide every file from the group
    try:
        (tmp_path / "shared").mkdir()
        os.chmod(tmp_path / "shared", 0o750)
        write_json({"a": 1}, tmp_path / "shared" / "x.json")
        (tmp_path / "private").mkdir(mode=0o700)
        write_json({"a": 1}, tmp_path / "private" / "x.json")
    finally:
        os.umask(old)
    assert os.stat(tmp_path / "shared" / "x.json").st_mode & 0o040
    assert not os.stat(tmp_path / "private" / "x.json").st_mode & 0o040


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


def test_a_full_disk_leaves_nothing_half_written(tmp_path, monkeypatch):
    target = tmp_path / "metrics.json"
    write_json({"good": 1}, target)

    def full(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device", str(self))
    monkeypatch.setattr(Path, "write_text", full)
    with pytest.raises(OSError):
        write_json({"good": 2}, target)
    monkeypatch.undo()
    assert read_json(target) == {"good": 1} and [p.name for p in tmp_path.iterdir()] == ["metrics.json"]
    from fraglib.__main__ import os_error_line
    line = os_error_line(OSError(errno.ENOSPC, "No space left on device", "/runs/x"))
    assert "/runs/x" in line and "free disk space" in line


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


def test_a_study_is_validated_before_anything_trains(store, monkeypatch):
    no_training(monkeypatch)
    with pytest.raises(ValueError):
        Study("fashion-mnist", "ce", 0, "tiny", store=store, progress=False)
    assert not any(store.root.glob("**/config.json"))


def cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "fraglib", *args], cwd=REPO, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


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
    from fraglib.__main__ import main

    def read_only(self, *a, **k):
        raise PermissionError(errno.EACCES, "Permission denied", str(self))
    monkeypatch.setattr(Path, "mkdir", read_only)
    code = main(["train", "--profile", "tiny", "--runs", str(tmp_path / "ro-runs"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2 and "Permission denied" in err and "ro-runs" in err and "Fix:" in err
    assert len(err.strip().splitlines()) == 1
