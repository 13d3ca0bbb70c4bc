"""Where the book's runs train: the local executor (worker processes on this machine's cores, or
placed on its GPUs) and, through `cluster.py`, a Slurm job array. Every executor does the same
with a run (`study.prepare`): train or load it, extract its embeddings, compute its analyses.
"""
from __future__ import annotations

import multiprocessing
import os

from tqdm.auto import tqdm

from .config import RunConfig
from .runs import RunStore
from .study import prepare


def cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _worker_init(threads: int, slots) -> None:
    """A training worker: its torch threads (for embeddings and analyses; training itself uses
    train.CPU_THREADS) and its BLAS threads (numpy's, for the analyses: OpenBLAS takes every core
    by default, and two workers' analyses then slowed the other worker's training by up to a
    quarter), and on a machine with GPUs, the GPU it is pinned to."""
    import torch
    from threadpoolctl import threadpool_limits
    torch.set_num_threads(threads)
    threadpool_limits(threads)
    if slots is not None:
        gpu = slots.get()
        os.environ["FRAGLIB_DEVICE"] = f"cuda:{gpu}"
        torch.cuda.set_device(gpu)


def _train_task(args: tuple) -> str:
    return prepare(*args)


def runs_per_gpu(config: RunConfig) -> int:
    """How many runs share one GPU at once: the small net's several (each a small fraction of a GPU),
    a ResNet's two (measured: benchmarks/gpu.py)."""
    return 4 if config.model == "smallnet" else 2


def local_workers(configs: list[RunConfig], workers: int, device: str | None) -> tuple[int, int, list | None]:
    """(processes, torch threads each, GPU ids to pin them to or None): on the CPU, `workers`
    processes whose threads add up to the cores (more threads than cores thrash: two 2-thread
    processes on 2 cores ran 5x slower); with GPUs, every visible GPU, several runs on each."""
    from .device import device_kind, pick_device
    if device_kind(device) != "cuda":
        return workers, max(1, cores() // workers), None
    import torch
    dev = pick_device(device)
    gpus = [dev.index] if dev.index is not None else list(range(torch.cuda.device_count()))
    per = min(runs_per_gpu(c) for c in configs) if configs else 1
    slots = [g for g in gpus for _ in range(per)]
    return len(slots), max(1, cores() // len(slots)), slots


def train_all(configs: list[RunConfig], store: RunStore, workers: int, device: str | None = None,
              analyses: dict | None = None, executor: str = "local", slurm=None) -> None:
    """Train the missing runs (each with its embeddings and costly analyses: `analyses` maps a
    config digest to names), the longest first: in local worker processes (on the CPU, or placed
    on the visible GPUs), or as one Slurm job array (`executor="slurm"`, `cluster.py`)."""
    from .config import SPECS, imbalance_counts
    analyses = analyses or {}
    unique = list({c.digest(): c for c in configs}.values())
    missing = [c for c in unique if not store.is_complete(c)]
    if executor == "slurm":   # the missing runs as tasks; then what is left (analyses) here
        from .cluster import train_on_slurm
        if missing:
            train_on_slurm(missing, store, analyses, slurm)
        missing = []
    for dataset in sorted({c.dataset for c in missing}):  # prepare each dataset once, up front
        from .data import load_source
        load_source(dataset, True, store.data_root)
        load_source(dataset, False, store.data_root)

    def cost(c: RunConfig) -> float:  # training images x epochs, from the imbalance formula
        n = c.regime.max_per_class or 5000
        classes = len(SPECS[c.dataset].classes)
        return sum(imbalance_counts(n, classes, c.imbalance_ratio, c.imbalance_type)) * c.regime.epochs

    unique.sort(key=cost, reverse=True)
    tasks = [(c.to_dict(), str(store.root), device, tuple(analyses.get(c.digest(), ()))) for c in unique]
    processes, threads, gpus = local_workers(missing or unique, workers, device)
    processes = max(1, min(processes, len(missing)))    # analyses of stored runs: here, in order
    if processes == 1 and gpus is None:
        for task in tqdm(tasks, desc="runs", unit="run"):
            prepare(*task)
        return
    ctx = multiprocessing.get_context("spawn")
    slots = manager = None
    if gpus is not None:
        manager = ctx.Manager()
        slots = manager.Queue()
        for g in gpus[:processes]:
            slots.put(g)
        tasks = [(t[0], t[1], None, t[3]) for t in tasks]    # each worker's own GPU
    # multiprocessing.Pool, not concurrent.futures: a Ctrl-C must stop the workers now
    # (`terminate`), not after the queue of runs (each stops at an atomic write: it resumes)
    pool = ctx.Pool(processes, initializer=_worker_init, initargs=(threads, slots))
    try:
        for label in tqdm(pool.imap_unordered(_train_task, tasks), total=len(tasks), desc="runs", unit="run"):
            tqdm.write(f"ready: {label}")
    except BaseException:
        pool.terminate()
        raise
    else:
        pool.close()
    finally:
        pool.join()
        if manager is not None:
            manager.shutdown()

