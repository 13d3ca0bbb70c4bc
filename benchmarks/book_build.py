"""Time the quick book as a reader meets it: from an empty run store (the default three seeds, and
one seed), then rebuilt with nothing changed, then after editing one chapter.

Targets (issue 20), first-time setup excluded: the default (three-seed) quick book from an empty
run store in <= 15 minutes on a 2-core CPU with native bf16 and <= 30 on a 2-core AVX2 CPU
without it, every run of the paper's losses in the regime; `--seeds 1` in <= 6 / 12 minutes;
rebuilding after editing one chapter in <= 30 seconds. Which kind of CPU this is, is printed first.

    .venv/bin/python benchmarks/book_build.py | tee benchmarks/book_build.txt

Everything happens in a temporary folder (its own run store, data cache and book), so nothing
of this checkout is reused. The chapter edit appends a markdown cell to notebooks/rq3_top_k.py
and is undone at the end.
"""
from __future__ import annotations

import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def machine() -> list[str]:
    import torch

    from fraglib.executors import cores
    from fraglib.device import native_bf16, resolve_precision
    info = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.*)", info)
    flags = set((re.search(r"flags\s*:\s*(.*)", info) or re.search("()", "")).group(1).split())
    simd = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_bf16") if f in flags]
    return [f"cpu: {model.group(1) if model else platform.processor()}, {cores()} cores, "
            f"flags {' '.join(simd) or 'none of avx2/avx512'}",
            f"torch {torch.__version__}: cpu capability {torch.backends.cpu.get_cpu_capability()}, "
            f"native bf16 {native_bf16('cpu')} -> precision auto = {resolve_precision('auto', 'cpu')}",
            f"gpu: {torch.cuda.get_device_name() if torch.cuda.is_available() else 'none'}",
            f"date: {time.strftime('%Y-%m-%d')}"]


def book(root: Path, env: dict, *args) -> tuple[float, str]:
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-m", "fraglib", "book", "--profile", "quick", "--root", str(root),
                        *args], cwd=REPO, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if r.returncode:
        sys.exit(f"book build failed:\n{r.stdout[-4000:]}\n{r.stderr[-4000:]}")
    return seconds, r.stdout


def regime_lines(runs_root: Path) -> list[str]:
    from fraglib.runs import RunStore
    from fraglib.verdicts import RegimeCheck
    out = []
    for run in sorted(RunStore(runs_root).runs(), key=lambda r: r.config.label()):
        m, reg = run.metrics, RegimeCheck.of(run.metrics)
        mnr = len(m["train_class_acc"]) - 1
        out.append(f"  {run.config.label():58s} train {m['train_seconds']:5.0f} s  test BAC "
                   f"{100 * m['test_bac']:5.1f}%  lowest class train acc {100 * reg.worst_train_acc:5.1f}% "
                   f"({'in regime' if reg.in_regime else 'OUTSIDE the regime'}); minority train/test "
                   f"{100 * m['train_class_acc'][mnr]:.0f}/{100 * m['test_class_acc'][mnr]:.0f}%")
    return out


def from_empty(tmp: Path, seeds: int, target: str) -> tuple[dict, str]:
    env = dict(os.environ, FRAGLIB_RUNS=str(tmp / f"runs{seeds}"), FRAGLIB_DATA=str(tmp / "data"))
    took, out = book(tmp / f"book{seeds}", env, "--seeds", str(seeds))
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 2 ** 20
    trained = re.search(r"done in .*?\((\d+\.\d) min of it training", out)
    print(f"quick book, --seeds {seeds}, from an empty run store: {took / 60:.1f} min "
          f"({trained.group(1) if trained else '?'} min training and analyses; peak memory of one process "
          f"{peak:.1f} GB) (target {target})", flush=True)
    return env, out


def main() -> None:
    for line in machine():
        print(f"# {line}", flush=True)
    from fraglib.device import native_bf16
    native = native_bf16("cpu")
    chapter = REPO / "notebooks" / "rq3_top_k.py"
    original = chapter.read_text()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        from_empty(tmp, 1, "<= 6 min with native bf16" if native else "<= 12 min without native bf16")
        env, _ = from_empty(tmp, 3, "<= 15 min with native bf16" if native else "<= 30 min without native bf16")
        print("runs of the three-seed book:")
        lines = regime_lines(Path(env["FRAGLIB_RUNS"]))
        print("\n".join(lines), flush=True)
        outside = [l for l in lines if "OUTSIDE" in l and "procrustean" not in l]
        print(f"runs of the paper's losses outside the regime: {len(outside)}", flush=True)
        again, out = book(tmp / "book3", env)
        pages = re.search(r"executing (\d+) of (\d+) pages", out)
        print(f"rebuild with nothing changed: {again:.0f} s ({pages.group(1)} pages executed)", flush=True)
        try:
            chapter.write_text(original + "\n# %% [markdown]\n# An edit, as a reader would make one.\n")
            edited, out = book(tmp / "book3", env)
            pages = re.search(r"executing (\d+) of (\d+) pages", out)
            print(f"rebuild after editing one chapter: {edited:.0f} s ({pages.group(1)} of {pages.group(2)} "
                  f"pages executed) (target <= 30 s)", flush=True)
        finally:
            chapter.write_text(original)

if __name__ == "__main__":
    main()
