"""fileio.py: files never half-written, never trusted unverified; group-readable where the folder is."""
from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from fraglib.fileio import (
    clean_temporaries,
    read_json,
    torch_bytes,
    write_json,
)


def test_only_a_dead_writers_temporaries_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    import socket
    host = socket.gethostname().replace(".", "_")
    live = tmp_path / f".x.json.{host}-{os.getpid()}.abc.tmp"
    gone = tmp_path / f".x.json.{host}-{dead}.abc.tmp"
    old_style = tmp_path / ".x.json.abc123.tmp"
    other_host = tmp_path / f".x.json.otherhost-{dead}.abc.tmp"
    for p in (live, gone, old_style, other_host):
        p.write_text("partial")
    assert clean_temporaries(tmp_path) == 2
    assert live.exists() and other_host.exists() and not gone.exists() and not old_style.exists()


def test_model_digest_is_the_same_for_the_same_weights():
    """Probe: model_sha256 differed between two identical runs (torch.save names the archive after
    its random temporary file)."""
    state = {"w": torch.arange(6.0).reshape(2, 3)}
    assert torch_bytes(state) == torch_bytes({"w": torch.arange(6.0).reshape(2, 3)})


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
