"""`python -m fraglib book`: plan the book from the table of questions, train, execute, build.

0. `plan.plan`: every page and every run follows from the table of questions and the profile's
   matrix (plan.py).
1. `executors.train_all`: every run the pages read is trained or loaded, the longest first, in
   parallel worker processes whose torch thread counts add up to the cores (or as a Slurm job
   array); each run's embeddings and costly analyses are computed there, so the chapters only
   read the store.
2. `pages.execute_pages`: each page is its chapter executed into book/runs/<profile>/..., in
   warm kernels, in parallel, cached by `pages.page_key`.
3. `build_html`: Jupyter Book 1.x builds the static HTML into book/_build/html (charts drawn by
   one local vega bundle in book/_static, so they show offline; figures numbered by Sphinx).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from . import ledger
from .config import EXECUTORS, MATRIX, BadInput, check_choice, whole_number
from .device import device_problem
from .executors import cores, train_all
from .fileio import ensure_file, sha256
from .pages import cached_key, execute_pages, fraglib_digest, page_key, run_identity
from .plan import REPO, chapters, plan, profile_toc
from .runs import RunStore, locked

BOOK_FILES = ["_config.yml", "_toc.yml", "book/intro.md", "book/methods.md", "book/references.md",
              "book/references.bib", "book/_static/fraglib.css"]


def changes_since_last_build(out_dir: Path, state: str, most: int = 40) -> None:
    """Which verdicts changed since the previous build of this profile (claim, configuration, old
    -> new verdict and seed count), or "no verdict changed"; the previous ledger stays beside the
    new one (claims-ledger.previous.*: `python -m fraglib diff` reads them again)."""
    previous = out_dir / ledger.PREVIOUS[ledger.JSON]
    if state != "written" or not previous.exists():
        if state == "unchanged":
            print("since the previous build: no verdict changed")
        return
    result = ledger.diff(ledger.read(previous), ledger.read(out_dir / ledger.JSON))
    lines = ledger.diff_lines(result, verdicts_only=True)
    print(f"since the previous build: {ledger.summary_line(result, verdicts_only=True)}"
          + (f" (python -m fraglib diff {previous} {out_dir / ledger.JSON})" if lines else ""))
    for line in lines[:most]:
        print(line)
    if len(lines) > most:
        print(f"  ... {len(lines) - most} more lines")


MAX_SEEDS = 100   # every seed trains every run of the book again: 100 seeds of the quick book are 1,100 runs


def check_seeds(seeds) -> int:
    """The number of seeds per configuration: a whole number from 1 to MAX_SEEDS (2, 2.0 and "2" alike)."""
    return whole_number("seeds (seeds 0 .. N-1 are trained)", seeds, minimum=1, maximum=MAX_SEEDS)


MATHJAX = Path(sys.prefix) / "share" / "mathjax" / "tex-svg.js"  # put there by .ci/setup


def write_mathjax(static_dir: Path) -> Path:
    """The book's local MathJax (the default loads it from a CDN, and math would not render
    offline), copied atomically and verified against its source before reuse."""
    if not MATHJAX.exists():
        raise RuntimeError(f"MathJax is missing ({MATHJAX}): run `bash .ci/setup`, which fetches it "
                           f"from the npm registry (npm pack mathjax@3.2.2)")
    return ensure_file(Path(static_dir) / "mathjax" / "tex-svg.js", MATHJAX.read_bytes, sha256(MATHJAX))


# -- 3. html -----------------------------------------------------------------------------------
def logs(root: Path) -> Path:
    """Where a build's complete logs go (the kernels', Sphinx's), named in its summary."""
    folder = Path(root) / "book" / "_build" / "logs"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def build_html(root: Path, profile: str, strict: bool = False, verbose: bool = False) -> Path:
    """Jupyter Book 1.x over the executed pages of one profile; the path of its index page. Its
    log goes to book/_build/logs/sphinx.log (the terminal shows its warnings and errors, the whole
    log on a failure, everything with `verbose`)."""
    from .charts import write_vega_bundle
    write_vega_bundle(root / "book" / "_static")
    write_mathjax(root / "book" / "_static")
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root), "--path-output",
           str(root / "book"), "--builder", "html", "--toc", str(profile_toc(root, profile))]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    if verbose:
        if subprocess.run(cmd).returncode:
            raise RuntimeError("jupyter-book build failed: its messages are above")
        return root / "book" / "_build" / "html" / "index.html"
    log = logs(root) / "sphinx.log"
    r = subprocess.run(cmd, capture_output=True, text=True)
    log.write_text(r.stdout + r.stderr)
    if r.returncode:
        print(r.stdout[-6000:] + r.stderr[-6000:], file=sys.stderr)
        raise RuntimeError(f"jupyter-book build failed: its messages are above, the whole log in {log}")
    for line in (r.stdout + r.stderr).splitlines():
        if "WARNING" in line or "ERROR" in line:
            print(line)
    return root / "book" / "_build" / "html" / "index.html"


# -- the whole build -----------------------------------------------------------------------------
def build_book(profile: str = "quick", build: bool = True, only=None, root: Path | None = None,
               strict: bool = False, workers: int | None = None, device: str | None = None,
               seeds: int = 3, executor: str = "local", slurm=None, verbose: bool = False) -> Path:
    """Train what the profile's book reads (for `seeds` seeds, 0 .. seeds-1: the pages then count
    each claim over them; on this machine, or as a Slurm job array with `executor="slurm"` and
    `slurm` a cluster.SlurmOptions), execute its pages and build the book."""
    check_choice("profile", profile, tuple(MATRIX))
    check_choice("executor", executor, EXECUTORS)
    if executor == "slurm":   # before any work: a machine without Slurm is one line
        from .cluster import SlurmOptions, slurm_available
        slurm = slurm or SlurmOptions.defaults(profile)
        why = slurm_available(options=slurm)
        if why:
            raise RuntimeError(f"--executor slurm: {why}")
    seeds = check_seeds(seeds)
    for name in only or ():
        check_choice("chapter", name, chapters())
    workers = whole_number("workers", workers or cores(), minimum=1)
    why = device_problem(device)
    if why:
        raise BadInput(why)
    root = Path(root) if root else REPO
    book = plan(profile, seeds, only, root / "book" / "runs" / profile)   # validated before any work
    out_dir = root / "book" / "runs" / profile
    out_dir.mkdir(parents=True, exist_ok=True)
    with locked(out_dir, f"the {profile} book in {root}"):   # two builds of one book run one after the other
        return _build(book, profile, seeds, build, root, strict, workers, device, executor, slurm, verbose)


def _build(book, profile: str, seeds: int, build: bool, root: Path, strict: bool, workers: int, device,
           executor: str, slurm, verbose: bool = False) -> Path:
    """`build_book` once its input is checked and its lock held."""
    if root != REPO:  # a book elsewhere (tests): copy the book's own sources where they changed (a
        for f in BOOK_FILES:  # copy of the same bytes would look new to Sphinx: 3 pages rebuilt, 1-2 s)
            (root / f).parent.mkdir(parents=True, exist_ok=True)
            if not (root / f).exists() or (root / f).read_bytes() != (REPO / f).read_bytes():
                shutil.copy(REPO / f, root / f)
    os.environ["FRAGLIB_BOOK"] = "1"
    if device:
        os.environ["FRAGLIB_DEVICE"] = device  # the kernels resolve precision for the same device
    t0 = time.time()
    store = RunStore()
    os.environ["FRAGLIB_RUNS"] = str(store.root.resolve())  # the kernels read this very store
    where = "as a Slurm job array" if executor == "slurm" else f"{workers} workers"
    print(f"[1/3] the {profile} book: {len(book.runs)} runs for {seeds} seed(s) (stored runs are loaded), "
          f"{where}")
    train_all(list(book.runs.values()), store, workers, device, book.analyses, executor, slurm)
    t_train = time.time() - t0

    code = fraglib_digest()
    jobs = [dict(chapter=p.chapter, out=p.out, title=p.title, parameters=p.parameters, cwd=root,
                 key=page_key(p.chapter, p.parameters, [run_identity(store, c) for c in p.runs], code))
            for p in book.pages]
    stale = [j for j in jobs if cached_key(j["out"]) != j["key"]]
    print(f"[2/3] executing {len(stale)} of {len(jobs)} pages with papermill "
          f"({len(jobs) - len(stale)} unchanged, from the page cache)")
    if stale:
        execute_pages(stale, min(workers, len(stale)), max(1, cores() // workers),
                      None if verbose else logs(root) / "kernels.log")
    out_dir = root / "book" / "runs" / profile
    state = ledger.publish(out_dir / "summary.ipynb", out_dir)   # from the page itself, checked every build
    print(f"the claims ledger: {state} ({out_dir / ledger.CSV})")
    changes_since_last_build(out_dir, state)
    if not build:
        return out_dir
    print("[3/3] building the book with Jupyter Book")
    index = build_html(root, profile, strict, verbose)
    print(f"done in {(time.time() - t0) / 60:.1f} min ({t_train / 60:.1f} min of it training or loading runs; "
          f"{len(stale)} pages executed, {len(jobs) - len(stale)} from the cache): open {index}"
          + ("" if verbose else f" (complete logs: {logs(root)})"))
    return index
