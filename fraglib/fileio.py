"""Files that are never half-written and never trusted unverified.

Every file is written to a temporary name beside its target, fsynced, then renamed over it, so a
kill leaves either the old file or the new one (and a stray `.<name>.*.tmp`, removed by
`clean_temporaries` on the next access). Every stored artefact carries a digest of its content
that is checked before use:

- `save_verified` / `load_verified` (checkpoints, prepared data): a header with the sha256 of
  the torch payload; a flipped bit, a truncated file or a file written by anything else is
  `Damaged`, never loaded.
- `write_json` / `read_json` (config.json, metrics.json, history.json, derived/): a `_sha256`
  entry over the canonical JSON of the rest; a hand edit is `Damaged` too.
- `torch_bytes`: torch.save into memory, so equal tensors give equal bytes (and equal digests):
  saved to a file, torch names the archive after the (random) temporary file.

Files get the permissions the umask gives (mkstemp's 0600 would hide a shared store from the
group), plus group read where the folder is group-readable.
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import socket
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

MAGIC = b"FRAGLIB-VERIFIED-1\n"
DIGEST_KEY = "_sha256"


class Damaged(ValueError):
    """A stored file whose content does not match its digest (or cannot be read at all)."""

    def __init__(self, path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = Path(path), reason


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def file_mode(folder: Path) -> int:
    """The mode of a new file in `folder`: what the umask allows, and group read where the folder
    itself is group-readable (a shared store on a lab server)."""
    mode = 0o666 & ~_umask()
    try:
        if os.stat(folder).st_mode & 0o040:
            mode |= 0o040
    except OSError:
        pass
    return mode


def _writer_tag() -> str:
    """This process, as a temporary file names it: host and pid (so that only a dead writer's
    temporaries are ever removed, never a live one's)."""
    return f"{socket.gethostname().replace('.', '_')}-{os.getpid()}"


@contextmanager
def atomic_path(path: Path):
    """Yield a temporary path beside `path`; on success it replaces `path` in one rename. A
    file-system error names `path` (a full disk says where it was writing)."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{_writer_tag()}.", suffix=".tmp", dir=path.parent)
        os.close(fd)
    except OSError as e:
        raise _naming(e, path) from e
    try:
        yield Path(tmp)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, file_mode(path.parent))
        os.replace(tmp, path)
    except OSError as e:
        raise _naming(e, path) from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _naming(e: OSError, path: Path) -> OSError:
    """The error with the path it was about (errors from write() or fsync() carry none)."""
    if e.filename is None or str(e.filename).endswith(".tmp"):
        return type(e)(e.errno, e.strerror, str(path))
    return e


def _writer_alive(tmp: Path) -> bool:
    """Whether the process that is writing `tmp` may still be running: its name carries the
    writer's host and pid (`.<name>.<host>-<pid>.<random>.tmp`, or torchvision-style
    `<name>.tmp<pid>`). A writer on another host is assumed alive; a name without a writer
    (older fraglib) is not."""
    import re
    m = re.search(r"\.([^.]+)-(\d+)\.[^.]*\.tmp$", tmp.name)
    if m:
        host, pid = m.group(1), int(m.group(2))
        if host != socket.gethostname().replace(".", "_"):
            return True
    else:
        m = re.search(r"\.tmp(\d+)$", tmp.name)
        if not m:
            return False
        pid = int(m.group(1))
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:   # alive, another user's
        return True
    return True


def clean_temporaries(folder: Path, older_than: float = 0.0) -> int:
    """Remove the temporary files a killed writer left in `folder` (`.<name>.*.tmp`, and
    torchvision's `*.tmp<pid>`): only those whose writer is no longer running (a live writer's
    file is never touched, lock or no lock), older than `older_than` seconds. Returns how many
    were removed."""
    removed = 0
    now = time.time()
    for tmp in list(Path(folder).glob(".*.tmp")) + list(Path(folder).glob("*.tmp[0-9]*")):
        try:
            if now - tmp.stat().st_mtime >= older_than and not _writer_alive(tmp):
                tmp.unlink()
                removed += 1
        except OSError:
            pass
    return removed


def write_bytes(data: bytes, path: Path) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def torch_bytes(obj) -> bytes:
    """torch.save into memory: the same tensors always give the same bytes."""
    import torch
    buf = io.BytesIO()
    torch.save(obj, buf)
    return buf.getvalue()


def atomic_torch_save(obj, path: Path) -> str:
    """A plain torch file (model.pt: loadable by torch.load alone); returns its sha256."""
    data = torch_bytes(obj)
    write_bytes(data, path)
    return hashlib.sha256(data).hexdigest()


def save_verified(obj, path: Path) -> None:
    """A torch payload behind a header holding its sha256 (checkpoints, prepared data)."""
    payload = torch_bytes(obj)
    write_bytes(MAGIC + hashlib.sha256(payload).hexdigest().encode() + b"\n" + payload, path)


def load_verified(path: Path, weights_only: bool = True):
    """Load what `save_verified` wrote, after checking its digest; `Damaged` otherwise."""
    import torch
    blob = Path(path).read_bytes()
    if not blob.startswith(MAGIC):
        raise Damaged(path, "no fraglib digest header (damaged, or not written by fraglib)")
    digest, _, payload = blob[len(MAGIC):].partition(b"\n")
    if hashlib.sha256(payload).hexdigest().encode() != digest:
        raise Damaged(path, "content does not match its sha256 (damaged)")
    try:
        return torch.load(io.BytesIO(payload), map_location="cpu", weights_only=weights_only)
    except Exception as e:  # a digest-correct payload torch cannot read: still not trusted
        raise Damaged(path, f"unreadable ({e.__class__.__name__})") from e


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":")).encode()


def write_json(obj: dict, path: Path) -> None:
    """A JSON object with a `_sha256` entry over the rest of it, written atomically."""
    body = {k: v for k, v in obj.items() if k != DIGEST_KEY}
    body = json.loads(json.dumps(body))  # tuples -> lists, as it will be read back
    body[DIGEST_KEY] = hashlib.sha256(_canonical(body)).hexdigest()
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(body, indent=2, sort_keys=True) + "\n")


def read_json(path: Path) -> dict:
    """A JSON object written by `write_json`, its digest checked (`_sha256` removed); `Damaged`
    when missing its digest, edited, truncated or not an object. A missing file: OSError."""
    try:
        obj = json.loads(Path(path).read_text())
    except ValueError as e:
        raise Damaged(path, "not valid JSON (damaged or half-written)") from e
    if not isinstance(obj, dict) or DIGEST_KEY not in obj:
        raise Damaged(path, "not a fraglib record (no digest)")
    digest = obj.pop(DIGEST_KEY)
    if hashlib.sha256(_canonical(obj)).hexdigest() != digest:
        raise Damaged(path, "content does not match its sha256 (edited or damaged)")
    return obj


def atomic_write_json(obj, path: Path) -> None:
    """Plain JSON (for files people read, like the book's own), written atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=2, sort_keys=True) + "\n")


def atomic_savez(path: Path, **arrays) -> None:
    import numpy as np
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_stamp(path: Path) -> tuple:
    """What tells one version of a file from another within a process: its path, inode, size and
    modification time (every write here is an atomic rename: a new inode; a truncation or an edit
    changes the size or the time). OSError when it is missing."""
    st = os.stat(path)
    return str(path), st.st_ino, st.st_size, st.st_mtime_ns


_HASHED: dict = {}


def sha256_once(path: Path) -> str:
    """`sha256` of a file, hashed once per process while it stays the same file (`file_stamp`). For
    checks repeated within one command (a run's embeddings, verified before each of its analyses)."""
    key = file_stamp(path)
    if key not in _HASHED:
        _HASHED[key] = sha256(path)
    return _HASHED[key]


def ensure_file(path: Path, make, expected_sha256: str | None = None) -> Path:
    """A generated file (the book's static assets), reused only when it verifies: against
    `expected_sha256` where the source's digest is known, else against the `<name>.sha256` written
    beside it. Anything else (missing, truncated by a kill or a full disk, edited) is made again
    with `make()` (bytes) and written atomically, its digest after it."""
    path = Path(path)
    side = path.with_name(path.name + ".sha256")
    try:
        have = sha256(path)
        want = expected_sha256 or side.read_text().strip()
        if have == want:
            return path
    except OSError:
        pass
    data = make()
    write_bytes(data, path)
    write_bytes(hashlib.sha256(data).hexdigest().encode(), side)
    return path
