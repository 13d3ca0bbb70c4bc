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

import os
from contextlib import nullcontext

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
    import torch
    return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def native_bf16(device: str | None = None) -> bool:
    """Whether `device` (default: `pick_device`'s) runs bf16 natively: a CUDA GPU with bf16
    units (Ampere and later), or a CPU for which `_cpu_bf16` says so."""
    kind = pick_device(device).type
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
