"""Command line: `python -m fraglib train|list|book ...`.

Every option is validated before any work, and bad input is one line naming the valid choices.
A run's config is made by `RunConfig.make` from the options given, and only from those: an
option left out keeps the profile's value, so `train --profile quick` names the very run the
book trains.
"""
from __future__ import annotations

import argparse
import json
import os
import sys

from .config import (DATASETS, EXECUTORS, IMBALANCE_TYPES, LOSSES, MODELS, PRECISIONS, PROFILES, SELECTIONS,
                     BadInput, RunConfig, whole_number)


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 ("2" and "2.0" alike)."""
    try:
        return whole_number("the value", text, minimum=1)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).replace("the value ", "")) from None


def add_run_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", default="fashion-mnist", choices=DATASETS)
    p.add_argument("--loss", default="ce", choices=LOSSES)
    p.add_argument("--ratio", default="100", help="imbalance ratio n_max/n_min; 1 = balanced")
    p.add_argument("--imbalance-type", default=None, choices=IMBALANCE_TYPES, help="default: exp")
    p.add_argument("--profile", default="quick", choices=tuple(PROFILES))
    p.add_argument("--model", default=None, choices=MODELS, help="default: the profile's network")
    p.add_argument("--seed", default=None, help="weights, batch order (default 0)")
    p.add_argument("--data-seed", default=None, help="the images the imbalance keeps (default 0)")
    p.add_argument("--selection", default=None, choices=SELECTIONS,
                   help="choose the best epoch on a held-out validation split (default) or on the "
                        "test set (the paper's protocol)")
    p.add_argument("--precision", default=None, choices=PRECISIONS,
                   help="default: the profile's (auto: bf16 where the device runs it natively, else fp32)")


def config_from_args(a) -> RunConfig:
    """The run a `train` command names: `RunConfig.make` with the options given (None: the profile's)."""
    return RunConfig.make(a.dataset, a.loss, a.ratio, profile=a.profile, model=a.model, device=a.device,
                          imbalance_type=a.imbalance_type, seed=a.seed, data_seed=a.data_seed,
                          selection=a.selection, precision=a.precision)


class Parser(argparse.ArgumentParser):
    """argparse, with bad input as one line (no usage block above it)."""

    def error(self, message):
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="python -m fraglib", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)

    p = sub.add_parser("train", help="train a run (or load it from the store) and print its metrics")
    add_run_args(p)
    p.add_argument("--runs", default=None, help="run store folder (default $FRAGLIB_RUNS or ./runs)")
    p.add_argument("--device", default=None, help="cpu | cuda (default: cuda when present)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--dry-run", action="store_true",
                   help="print the run's folder and whether the store holds it; train nothing")

    p = sub.add_parser("diff", help="compare two claims ledgers (files or book folders); exit 1 when they differ")
    p.add_argument("old", help="a claims-ledger.csv/.json, or a folder holding one (book/runs/<profile>)")
    p.add_argument("new")
    p.add_argument("--verdicts", action="store_true", help="only rows whose verdict or seed count moved")

    p = sub.add_parser("list", help="list the complete runs in the store")
    p.add_argument("--runs", default=None)

    p = sub.add_parser("book", help="run the papermill matrix and build the book")
    p.add_argument("--profile", default="quick", choices=tuple(PROFILES))
    p.add_argument("--no-build", action="store_true", help="execute the chapters, skip jupyter-book")
    p.add_argument("--only", nargs="*", default=None, help="chapter stems to run (default: all)")
    p.add_argument("--root", default=None, help="folder to build the book in (default: this checkout)")
    p.add_argument("--strict", action="store_true", help="Sphinx warnings are errors (CI)")
    p.add_argument("--workers", type=positive_int, default=None,
                   help="parallel training processes and page kernels, >= 1 (default: one per core)")
    p.add_argument("--device", default=None, help="cpu | cuda (default: cuda when present)")
    p.add_argument("--executor", default="local", choices=EXECUTORS,
                   help="where the runs train: this machine (its cores, or every visible GPU) or a Slurm "
                        "cluster, one run per task of a job array (the run store must be shared: --runs "
                        "is not taken here, set FRAGLIB_RUNS)")
    g = p.add_argument_group("Slurm (with --executor slurm; defaults fit the profile)")
    g.add_argument("--slurm-config", default=None, help="a JSON file of the options below (and 'setup': "
                                                        "shell lines run before each task)")
    g.add_argument("--partition", default=None)
    g.add_argument("--time", type=positive_int, default=None, dest="time_min", help="minutes per task")
    g.add_argument("--gpus-per-task", type=int, default=None)
    g.add_argument("--cpus-per-task", type=positive_int, default=None)
    g.add_argument("--mem-gb", type=float, default=None)
    g.add_argument("--array-parallelism", type=positive_int, default=None, help="tasks running at once")
    g.add_argument("--sbatch", action="append", default=None, help="an extra sbatch option, e.g. "
                                                                 "--sbatch=--account=lab (repeatable)")
    p.add_argument("--verbose", action="store_true", help="the kernels' and Sphinx's whole output on the terminal "
                                                          "(by default in book/_build/logs/)")
    p.add_argument("--seeds", type=positive_int, default=3,
                   help="train every run with seeds 0 .. N-1 (each seed: the initialisation and the images "
                        "the imbalance keeps); the pages say in how many seeds each claim holds (default 3)")
    return parser


def main(argv=None) -> int:
    a = build_parser().parse_args(argv)
    try:
        check_args(a)
        if a.command == "train":
            from .runs import RunStore
            config = config_from_args(a)
            store = RunStore(a.runs)
            if a.dry_run:
                print(json.dumps({"folder": str(store.folder(config)), "stored": store.is_complete(config),
                                  "label": config.label()}, indent=2, ensure_ascii=False))
                return 0
            run = store.get(config, progress=not a.quiet, device=a.device)
            m = run.metrics
            print(json.dumps({"folder": str(run.folder), "test_bac": m["test_bac"],
                              "best_epoch": m["best_epoch"], "train_counts": m["train_counts"]}, indent=2))
        elif a.command == "diff":
            from . import ledger
            result = ledger.diff(ledger.read(a.old), ledger.read(a.new))
            for line in ledger.diff_lines(result, a.verdicts):
                print(line)
            print(ledger.summary_line(result, a.verdicts))
            return 1 if ledger.differs(result, a.verdicts) else 0
        elif a.command == "list":
            from .runs import RunStore
            for run in RunStore(a.runs).runs():
                print(f"{run.metrics['test_bac']:.4f}  {run.config.label():60s}  {run.folder}")
        elif a.command == "book":
            from .book import build_book
            slurm = None
            if a.executor == "slurm":
                from .cluster import SlurmOptions
                slurm = SlurmOptions.make(a.profile, a.slurm_config, partition=a.partition, time_min=a.time_min,
                                          gpus_per_task=a.gpus_per_task, cpus_per_task=a.cpus_per_task,
                                          mem_gb=a.mem_gb, array_parallelism=a.array_parallelism,
                                          sbatch=tuple(a.sbatch) if a.sbatch else None)
            build_book(a.profile, build=not a.no_build, only=a.only, root=a.root, strict=a.strict,
                       workers=a.workers, device=a.device, seeds=a.seeds, executor=a.executor, slurm=slurm,
                       verbose=a.verbose)
    except KeyboardInterrupt:
        print("interrupted: what was finished is kept (runs resume from their last epoch, pages from the "
              "last one written); run the same command again to go on", file=sys.stderr)
        return 130
    except (ValueError, LookupError, RuntimeError) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    except OSError as e:  # a folder that is a file, read-only, or a full disk: one line, the path, the fix
        print(f"error: {os_error_line(e)}", file=sys.stderr)
        return 2
    return 0


SLURM_OPTIONS = ("partition", "time_min", "gpus_per_task", "cpus_per_task", "mem_gb", "array_parallelism",
                 "sbatch", "slurm_config")


def check_args(a) -> None:
    """What the parser cannot check, before any work: the device exists here, and Slurm options come
    with the Slurm executor (they were silently ignored, and the book trained locally)."""
    from .device import device_problem
    why = device_problem(getattr(a, "device", None))
    if why:
        raise BadInput(why)
    flag = {"time_min": "time"}
    given = [f"--{flag.get(name, name).replace('_', '-')}" for name in SLURM_OPTIONS if getattr(a, name, None) is not None]
    if given and getattr(a, "executor", "local") != "slurm":
        raise BadInput(f"{', '.join(given)}: Slurm options need --executor slurm (the book would train here)")


def os_error_line(e: OSError) -> str:
    """One line for a file-system error: what failed, on which path, and what to do."""
    import errno
    path = e.filename or "?"
    fix = {errno.ENOSPC: "free disk space (nothing half-written was kept) and run again",
           errno.EROFS: "the folder is read-only: give a writable one (--runs / FRAGLIB_RUNS, FRAGLIB_DATA)",
           errno.EACCES: "no permission: give a folder you can write (--runs / FRAGLIB_RUNS, FRAGLIB_DATA)",
           errno.EPERM: "no permission: give a folder you can write (--runs / FRAGLIB_RUNS, FRAGLIB_DATA)",
           errno.ENOTDIR: "a path that should be a folder is a file: give a folder (--runs / FRAGLIB_RUNS, "
                          "FRAGLIB_DATA)",
           errno.EEXIST: "a path that should be a folder is a file: give a folder"}.get(
        e.errno, "check the path and run again")
    return f"{e.strerror or e.__class__.__name__}: {path}. Fix: {fix}"


if __name__ == "__main__":
    code = main()
    if code == 130:   # interrupted: do not wait at exit for a worker thread the stop has left waiting
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)
