"""The device a run trains on, and whether it runs bf16 natively (the ground floor: no fraglib
import).

`precision="auto"` resolves here, where a config is made: bf16 only where the device runs it
natively, fp32 elsewhere (emulated bf16 is several times slower than fp32: 126 vs 824 images/s,
small net, 2-core AVX2 CPU). The resolved precision is part of a run's identity, so two
machines of different kinds name different runs for the same request on purpose.

The CPU's answer can be overridden with `FRAGLIB_CPU_BF16=native|emulated`, so that the test
suite can run as if on the other kind of CPU (`.ci/run` does, for the tests marked
`precision`), and a user can pin it.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import tempfile
from contextlib import nullcontext
from functools import cache
from pathlib import Path

CPU_BF16_ENV = "FRAGLIB_CPU_BF16"
CPU_BF16_CHOICES = {"native": True, "emulated": False}


def pick_device(device: str | None = None):
    """`device`, else $FRAGLIB_DEVICE, else cuda when present, else cpu (a torch.device)."""
    import torch
    device = device or os.environ.get("FRAGLIB_DEVICE")
    if device:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def device_problem(device: str | None) -> str | None:
    """Why `device` cannot run here (one line naming what can), or None: "cpu", "cuda" or "cuda:N"
    with such a GPU visible, or None (the default)."""
    if not device:
        return None
    import torch
    try:
        dev = torch.device(device)
    except (RuntimeError, ValueError):
        return f"Unknown device {device!r}; valid: cpu, cuda, cuda:N"
    if dev.type == "cpu":
        return None
    if dev.type != "cuda":
        return f"Unknown device {device!r}; valid: cpu, cuda, cuda:N"
    count = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if count == 0:
        return f"--device {device}: torch sees no CUDA GPU on this machine; valid here: cpu"
    if dev.index is not None and dev.index >= count:
        return f"--device {device}: this machine has {count} GPU(s); valid: cpu, cuda, cuda:0 .. cuda:{count - 1}"
    return None


def _cuda_bf16() -> bool:
    import torch
    return torch.cuda.is_available() and torch.cuda.is_bf16_supported(including_emulation=False)


def _cpu_bf16() -> bool:
    """Whether this CPU runs bf16 natively: $FRAGLIB_CPU_BF16 if set, else torch's oneDNN
    (AVX512-BF16 / AMX on x86, the bf16 extension on Arm)."""
    forced = os.environ.get(CPU_BF16_ENV)
    if forced:
        if forced not in CPU_BF16_CHOICES:
            raise ValueError(f"Unknown {CPU_BF16_ENV} {forced!r}; valid choices: {', '.join(CPU_BF16_CHOICES)}")
        return CPU_BF16_CHOICES[forced]
    return remembered(lambda: _cpu_identity() and f"cpu-bf16 {_cpu_identity()}", _oneDNN_bf16)


def _oneDNN_bf16() -> bool:
    import torch
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


@cache
def _cpu_identity() -> str | None:
    """The CPU's model, flags and machine, and torch's version (what oneDNN's answer follows), as
    a digest; None where /proc/cpuinfo cannot be read (not Linux)."""
    import platform
    try:
        with open("/proc/cpuinfo") as f:
            lines = [line for line in f if line.startswith(("model name", "flags", "Features", "CPU part"))]
    except OSError:
        return None
    text = "".join(sorted(set(lines))) + platform.machine() + torch_version()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@cache
def torch_version() -> str:
    """torch's installed version, read without importing it."""
    from importlib import metadata
    return metadata.version("torch")


# -- answers that need torch, kept so that a process with nothing to train never imports it -------
def cache_folder() -> Path:
    """fraglib's cache of facts about this machine's code and CPU: $FRAGLIB_CACHE, else
    $XDG_CACHE_HOME/fraglib, else ~/.cache/fraglib."""
    env = os.environ.get("FRAGLIB_CACHE")
    if env:
        return Path(env)
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "fraglib"


def remembered(key, compute, file: str = "machine.json"):
    """`compute()`, kept under `key` in a JSON file of the cache folder: read from there by a
    process that has not imported torch (2.5-4 s on a 2-core CPU; a build whose runs are all stored
    needs nothing else of it). A process that has imported torch computes the answer itself and
    writes nothing (a test may have changed what it computes). The file is replaced atomically
    (a half-written file is never read); a damaged one is ignored and written again. `key` may be
    a function that makes it (called only where the file is read); a key of None (nothing
    identifies the answer): computed each time."""
    if "torch" in sys.modules:
        return compute()
    key = key() if callable(key) else key
    if key is None:
        return compute()
    path = cache_folder() / file
    if (path, key) in _MEMO:
        return _MEMO[path, key]
    known = _read_cache(path)
    if key in known:
        _MEMO[path, key] = known[key]
        return known[key]
    value = _MEMO[path, key] = compute()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError:
        return value   # a read-only cache folder: computed again next time
    try:   # (fileio.atomic_path's way, written out: this floor imports no fraglib module)
        with os.fdopen(fd, "w") as f:
            json.dump({**_read_cache(path), key: value}, f, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        pass
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)   # not left behind where the write or the rename failed
    return value


_MEMO: dict = {}   # (file, key) -> value, once read in this process


def _read_cache(path: Path) -> dict:
    try:
        known = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return known if isinstance(known, dict) else {}


def _gpu_driver() -> bool:
    """Whether a GPU driver is present (NVIDIA's device nodes, or ROCm's): without one, torch sees no
    GPU, and the default device is the CPU without asking torch."""
    return any(os.path.exists(p) for p in ("/dev/nvidiactl", "/dev/nvidia0", "/proc/driver/nvidia", "/dev/kfd"))


def device_kind(device: str | None = None) -> str:
    """`pick_device(device).type`, without torch where it is known: "cpu" asked for, or nothing asked
    for on a machine without a GPU driver."""
    device = device or os.environ.get("FRAGLIB_DEVICE")
    if device == "cpu" or (not device and not _gpu_driver()):
        return "cpu"
    return pick_device(device).type


def native_bf16(device: str | None = None) -> bool:
    """Whether `device` (default: `pick_device`'s) runs bf16 natively: a CUDA GPU with bf16
    units (Ampere and later), or a CPU for which `_cpu_bf16` says so."""
    kind = device_kind(device)
    if kind == "cuda":
        return _cuda_bf16()
    return kind == "cpu" and _cpu_bf16()


def resolve_precision(precision: str, device: str | None = None) -> str:
    """'auto' becomes 'bf16' where `device` runs bf16 natively and 'fp32' elsewhere; an explicit
    'bf16' or 'fp32' is kept (the user asked for it)."""
    if precision != "auto":
        return precision
    return "bf16" if native_bf16(device) else "fp32"


def capability_line(device: str | None = None) -> str:
    """One line naming the CPU (or GPU) and its bf16 capability, for every committed timing."""
    import platform
    import torch
    dev = pick_device(device)
    if dev.type == "cuda":
        name = torch.cuda.get_device_name(dev)
    else:
        name = platform.processor() or platform.machine()
        try:
            with open("/proc/cpuinfo") as f:
                name = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
        except (OSError, StopIteration):
            pass
        name = f"{name}, {os.cpu_count()} cores"
    forced = f" (forced by {CPU_BF16_ENV})" if dev.type == "cpu" and os.environ.get(CPU_BF16_ENV) else ""
    return (f"{dev.type}: {name}; native bf16 {native_bf16(device)}{forced} -> precision auto = "
            f"{resolve_precision('auto', device)}")


def autocast(device, precision: str):
    """bf16 autocast on `device` for precision 'bf16'; nothing for 'fp32'."""
    if precision == "bf16":
        import torch
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return nullcontext()
