"""`python -m fraglib book`: plan the book from the table of questions, train, execute, build.

0. `plan`: every page and every run follows from `questions.QUESTIONS` and the profile's
   matrix: a page per configuration for each question of that scope (and a comparison page
   where the question has a key figure), a page per profile for the others, and the summary.
1. `train_all`: every run the pages read is trained or loaded, the longest first, in parallel
   worker processes whose torch thread counts add up to the cores; each run's embeddings and the
   costly analyses its questions name are computed there, so the chapters only read the store.
2. `execute_pages`: each page is its chapter (a Jupytext file in notebooks/) executed by
   papermill into book/runs/<profile>/..., with a title of its own. Pages run in parallel, one
   kernel per core with one torch thread each, and are cached: a page is executed again only
   when its chapter's source, its parameters, its runs or fraglib's code changed (`page_key`).
3. `build_html`: Jupyter Book 1.x builds the static HTML into book/_build/html (charts drawn by
   one local vega bundle in book/_static, so they show offline; figures numbered by Sphinx).
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import queue
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from . import __version__
from .config import MATRIX, RUN_SETS, RunConfig, check_choice, whole_number
from .fileio import ensure_file, sha256, tree_digest
from .questions import QUESTIONS, Question
from .runs import RunStore
from .study import analyse

REPO = Path(__file__).resolve().parents[1]
BOOK_FILES = ["_config.yml", "_toc.yml", "book/intro.md", "book/methods.md", "book/references.md",
              "book/references.bib", "book/_static/fraglib.css"]
ANALYSES = {a.name: a for q in QUESTIONS for a in q.analyses}


def chapters() -> list[str]:
    """The chapters of the book, in the table's order (those whose notebook exists)."""
    return [q.chapter for q in QUESTIONS if (REPO / "notebooks" / f"{q.chapter}.py").exists()]


def cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def check_seeds(seeds) -> int:
    """The number of seeds per configuration: a whole number >= 1 (2, 2.0 and "2" alike)."""
    return whole_number("seeds (seeds 0 .. N-1 are trained)", seeds, minimum=1)


# -- 0. the plan -----------------------------------------------------------------------------------
def studies_of(q: Question, profile: str) -> list[tuple[str, str, float]]:
    """The (dataset, loss, ratio) of each study a question reads on a profile: every configuration
    of the matrix, or (profile scope) the matrix's first dataset, with cross-entropy."""
    if q.scope == "profile":
        dataset, _, ratio = MATRIX[profile][0]
        return [(dataset, "ce", ratio)]
    return list(MATRIX[profile])


def study_configs(q: Question, profile: str, seeds) -> dict[str, RunConfig]:
    """Every run a question's pages read, for every seed, by config digest."""
    return {c.digest(): c for d, l, r in studies_of(q, profile) for s in seeds
            for c in RUN_SETS[q.runs](d, l, r, profile, s).values()}


@dataclass
class Page:
    chapter: str
    out: Path
    title: str
    parameters: dict
    runs: list = field(default_factory=list)   # the RunConfigs it reads (its cache key names them)


@dataclass
class Plan:
    pages: list[Page]
    runs: dict[str, RunConfig]                 # digest -> config: everything the book reads
    analyses: dict[str, set]                   # digest -> names of the analyses to compute


def plan(profile: str, seeds: int, only=None, out_dir: Path | None = None) -> Plan:
    """Every page of the profile's book (or of the chapters in `only`, and the summary) and every
    run and analysis they read, validated before anything trains."""
    out_dir = out_dir or REPO / "book" / "runs" / profile
    seed_list = list(range(seeds))
    runs, analyses, pages = {}, {}, []
    for q in QUESTIONS:
        configs = study_configs(q, profile, seed_list)
        runs.update(configs)
        for d, l, r in studies_of(q, profile):
            for s in seed_list:
                study = RUN_SETS[q.runs](d, l, r, profile, s)
                for a in q.analyses:
                    analyses.setdefault(study[a.run].digest(), set()).add(a.name)
        if only and q.chapter not in only:
            continue
        common = dict(profile=profile, seed=0, seeds=seeds)
        if q.scope == "profile":
            (d, _, r), = studies_of(q, profile)
            title = q.caption.split(" · ", 1)[-1]
            pages.append(Page(q.chapter, out_dir / f"{q.chapter}.ipynb", f"{title} ({profile})",
                              dict(dataset=d, imbalance_ratio=float(r), **common), list(configs.values())))
            continue
        for d, l, r in studies_of(q, profile):
            own = [c for s in seed_list for c in RUN_SETS[q.runs](d, l, r, profile, s).values()]
            pages.append(Page(q.chapter, out_dir / q.chapter / f"{d}-{l}.ipynb", f"{q.id} · {d} · {l} · {r:g}:1 ({profile})",
                              dict(dataset=d, loss=l, imbalance_ratio=float(r), **common), own))
        if q.key_figure is not None:
            pages.append(Page("compare", out_dir / q.chapter / "all.ipynb", f"{q.id} · every configuration ({profile})",
                              dict(q=q.id, **common), list(configs.values())))
    pages.append(Page("summary", out_dir / "summary.ipynb", f"Summary: every claim, every run ({profile})",
                      dict(profile=profile, seed=0, seeds=seeds), list(runs.values())))
    return Plan(pages, runs, analyses)


def toc_text(profile: str = "*") -> str:
    """The table of contents, from the table of questions (`_toc.yml` is this for every profile;
    a build narrows it to its own, so two profiles' pages never mix)."""
    lines = ["# The book's table of contents, written from fraglib/questions.py by fraglib.book.toc_text",
             "# (tests/test_book.py checks that they agree). Chapter pages are written by",
             "# `python -m fraglib book` into book/runs/<profile>/.", "format: jb-book", "root: book/intro",
             "parts:", "  - caption: Setting", "    chapters:", "      - file: book/methods",
             f"      - glob: book/runs/{profile}/summary"]
    for q in QUESTIONS:
        where = f"{q.chapter}/*" if q.scope == "configuration" else q.chapter
        lines += [f'  - caption: "{q.caption}"', "    chapters:", f"      - glob: book/runs/{profile}/{where}"]
    lines += ["  - caption: References", "    chapters:", "      - file: book/references"]
    return "\n".join(lines) + "\n"


def profile_toc(root: Path, profile: str) -> Path:
    """The table of contents of one profile's book, written beside its build."""
    path = root / "book" / "_build" / f"_toc.{profile}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(toc_text(profile))
    return path


# -- 1. training ---------------------------------------------------------------------------------
def _worker_init(threads: int) -> None:
    import torch
    torch.set_num_threads(threads)


def _train_and_measure(config_dict: dict, store_root: str, device: str | None, analyses=()) -> str:
    """Worker task: train (or load) one run, extract its embeddings and compute the named costly
    analyses (RQ1's re-trained head, EOS), so the pages only read; returns its label."""
    store = RunStore(store_root)
    config = RunConfig.from_dict(config_dict)
    run = store.get(config, progress=True, device=device)
    run.embeddings(device)
    for name in sorted(analyses):
        analyse(run, ANALYSES[name])
    return config.label()


def train_all(configs: list[RunConfig], store: RunStore, workers: int, device: str | None = None,
              analyses: dict | None = None) -> None:
    """Train the missing runs, the longest first, in `workers` processes of cores // workers
    threads each (more threads than cores thrash: two 2-thread processes on 2 cores ran 5x
    slower), each run's embeddings and costly analyses (`analyses`: digest -> names) with it."""
    from .config import SPECS, imbalance_counts
    from .data import load_source
    from .device import pick_device
    analyses = analyses or {}
    unique = list({c.digest(): c for c in configs}.values())
    missing = [c for c in unique if not store.is_complete(c)]
    for dataset in sorted({c.dataset for c in missing}):  # prepare each dataset once, up front
        load_source(dataset, True, store.data_root)
        load_source(dataset, False, store.data_root)

    def cost(c: RunConfig) -> float:  # training images x epochs, from the imbalance formula
        n = c.regime.max_per_class or 5000
        classes = len(SPECS[c.dataset].classes)
        return sum(imbalance_counts(n, classes, c.imbalance_ratio, c.imbalance_type)) * c.regime.epochs

    unique.sort(key=cost, reverse=True)
    tasks = [(c.to_dict(), str(store.root), device, tuple(analyses.get(c.digest(), ()))) for c in unique]
    workers = 1 if pick_device(device).type == "cuda" else max(1, min(workers, len(missing)))
    if workers == 1:
        for task in tqdm(tasks, desc="runs", unit="run"):
            _train_and_measure(*task)
        return
    threads = max(1, cores() // workers)
    # multiprocessing.Pool, not concurrent.futures: a Ctrl-C must stop the workers now
    # (`terminate`), not after the queue of runs (each stops at an atomic write: it resumes)
    pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_worker_init, initargs=(threads,))
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


def _train_task(args: tuple) -> str:
    return _train_and_measure(*args)


# -- 2. pages ------------------------------------------------------------------------------------
def fraglib_digest() -> str:
    """fraglib's version and the hash of its source: a page made by other code is made again."""
    return tree_digest(REPO / "fraglib", "*.py", __version__)


def run_identity(store: RunStore, config: RunConfig) -> dict:
    """A run's config digest and its model's sha256 (a retrained run changes its pages)."""
    metrics = json.loads((store.folder(config) / "metrics.json").read_text())
    return {"config": config.digest(), "model_sha256": metrics["model_sha256"]}


def page_key(chapter: str, parameters: dict, runs: list[dict], code: str) -> str:
    source = (REPO / "notebooks" / f"{chapter}.py").read_text()
    blob = json.dumps({"source": source, "parameters": parameters, "runs": runs, "fraglib": code},
                      sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def cached_key(page: Path) -> str | None:
    """The cache key stored in an executed page, or None (missing, unreadable, partial)."""
    try:
        return json.loads(page.read_text())["metadata"]["fraglib"]["page_key"]
    except (OSError, ValueError, KeyError, TypeError):
        return None


def retitle(nb, title: str, label: str | None = None) -> None:
    """Give an executed page its own title (and MyST label): the chapter's '# Question' becomes
    a subtitle. The chapter's figure names become the page's own (`<label>-<name>`): one
    chapter makes several pages, and Sphinx wants each label once in the book."""
    names = set()
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            names.update(re.findall(r"^:name: (\S+)", cell.source, re.M))
    for cell in nb.cells:
        if cell.cell_type != "markdown":
            continue
        if label:
            for name in names:
                cell.source = re.sub(rf"(:name: |{{numref}}`){re.escape(name)}\b", rf"\g<1>{label}-{name}",
                                     cell.source)
        if title and cell.source.lstrip().startswith("# "):
            first, _, rest = cell.source.lstrip().partition("\n")
            target = f"({label})=\n" if label else ""
            cell.source = f"{target}# {title}\n\n**{first[2:].strip()}**\n{rest}"
            title = None


def execute(chapter: str, out: Path, title: str, parameters: dict, cwd: Path, key: str = "",
            position: int = 0, **engine_options) -> None:
    """Execute one chapter page with papermill; the page appears only when complete."""
    import jupytext
    import nbformat
    import papermill as pm
    nb = jupytext.read(REPO / "notebooks" / f"{chapter}.py")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.{position}.partial.ipynb")
    try:
        executed = pm.execute_notebook(nb, str(tmp), parameters=parameters, kernel_name="python3",
                                       cwd=str(cwd), progress_bar={"leave": False, "desc": out.stem[:30],
                                                                   "position": position + 1},
                                       **engine_options)
        retitle(executed, title, label=page_label(out))
        for cell in executed.cells:  # the configuration shows once, in the kit's table
            tags = cell.metadata.setdefault("tags", [])
            if {"parameters", "injected-parameters"} & set(tags) and "remove-cell" not in tags:
                tags.append("remove-cell")
        executed.metadata["fraglib"] = {"page_key": key, "fraglib_version": __version__}
        nbformat.write(executed, str(tmp))
        os.replace(tmp, out)  # a half-executed page never replaces a good one
    finally:
        tmp.unlink(missing_ok=True)


def page_label(out: Path) -> str:
    """A page's MyST label: its path under book/runs, with dashes ("tiny-rq3_top_k-fashion-mnist-ce")."""
    parts = out.with_suffix("").parts
    return "-".join(parts[parts.index("runs") + 1:]) if "runs" in parts else out.stem


_KERNELS: dict[int, int] = {}   # page thread -> its kernel's process group (to stop on Ctrl-C)


def _kernel_manager_class():
    """nbclient's kernel manager, recording each page's kernel so that a Ctrl-C can stop it (the
    kernels run in sessions of their own, which a terminal's SIGINT never reaches)."""
    import threading
    from jupyter_client.manager import AsyncKernelManager

    class Tracked(AsyncKernelManager):
        async def start_kernel(self, **kw):
            await super().start_kernel(**kw)
            pgid = getattr(self.provisioner, "pgid", None) or getattr(self.provisioner, "pid", None)
            if pgid:
                _KERNELS[threading.get_ident()] = pgid
    return Tracked


def _stop_kernels() -> None:
    import signal
    for pgid in list(_KERNELS.values()):
        try:
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass


def execute_pages(pages: list[dict], workers: int, threads: int) -> None:
    """Execute pages in parallel: `workers` kernels at once, each limited to `threads` threads.
    Ctrl-C stops at once: no new page starts, the running kernels are killed, their partial
    pages removed (the next build executes them again)."""
    import threading
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)  # inherited by every kernel papermill starts
    slots: queue.Queue = queue.Queue()
    for i in range(workers):
        slots.put(i)
    stop = threading.Event()
    km_class = _kernel_manager_class()

    def one(page: dict) -> str:
        if stop.is_set():
            return ""
        slot = slots.get()
        try:
            execute(**page, position=slot, kernel_manager_class=km_class)
        except Exception as e:
            if stop.is_set():
                raise
            from papermill.exceptions import PapermillExecutionError
            if isinstance(e, PapermillExecutionError):   # the chapter's own error: where, and what
                raise RuntimeError(f"page {page['out'].relative_to(page['cwd'])} failed in cell {e.exec_count}: "
                                   f"{e.ename}: {e.evalue}") from None
            raise
        finally:
            _KERNELS.pop(threading.get_ident(), None)
            slots.put(slot)
        return page["out"].name

    pool = cf.ThreadPoolExecutor(workers)
    futures = [pool.submit(one, p) for p in pages]
    try:
        for f in tqdm(cf.as_completed(futures), total=len(futures), desc="pages", unit="page", position=0):
            f.result()
    except BaseException:
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        while not all(f.done() for f in futures):   # a kernel still starting is stopped too
            _stop_kernels()
            time.sleep(0.2)
        raise
    finally:
        pool.shutdown(wait=True)


MATHJAX = Path(sys.prefix) / "share" / "mathjax" / "tex-svg.js"  # put there by .ci/setup


def write_mathjax(static_dir: Path) -> Path:
    """The book's local MathJax (the default loads it from a CDN, and math would not render
    offline), copied atomically and verified against its source before reuse."""
    if not MATHJAX.exists():
        raise RuntimeError(f"MathJax is missing ({MATHJAX}): run `bash .ci/setup`, which fetches it "
                           f"from the npm registry (npm pack mathjax@3.2.2)")
    return ensure_file(Path(static_dir) / "mathjax" / "tex-svg.js", MATHJAX.read_bytes, sha256(MATHJAX))


# -- 3. html -----------------------------------------------------------------------------------
def build_html(root: Path, profile: str, strict: bool = False) -> Path:
    """Jupyter Book 1.x over the executed pages of one profile; the path of its index page."""
    from .charts import write_vega_bundle
    write_vega_bundle(root / "book" / "_static")
    write_mathjax(root / "book" / "_static")
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root), "--path-output",
           str(root / "book"), "--builder", "html", "--toc", str(profile_toc(root, profile))]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    if subprocess.run(cmd).returncode:
        raise RuntimeError("jupyter-book build failed: its messages are above")
    return root / "book" / "_build" / "html" / "index.html"


# -- the whole build -----------------------------------------------------------------------------
def build_book(profile: str = "quick", build: bool = True, only=None, root: Path | None = None,
               strict: bool = False, workers: int | None = None, device: str | None = None,
               seeds: int = 3) -> Path:
    """Train what the profile's book reads (for `seeds` seeds, 0 .. seeds-1: the pages then count
    each claim over them), execute its pages and build the book."""
    check_choice("profile", profile, tuple(MATRIX))
    seeds = check_seeds(seeds)
    for name in only or ():
        check_choice("chapter", name, chapters())
    workers = whole_number("workers", workers or cores(), minimum=1)
    root = Path(root) if root else REPO
    book = plan(profile, seeds, only, root / "book" / "runs" / profile)   # validated before any work
    if root != REPO:  # a book elsewhere (tests): copy the book's own sources
        for f in BOOK_FILES:
            (root / f).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(REPO / f, root / f)
    os.environ["FRAGLIB_BOOK"] = "1"
    if device:
        os.environ["FRAGLIB_DEVICE"] = device  # the kernels resolve precision for the same device
    t0 = time.time()
    store = RunStore()
    os.environ["FRAGLIB_RUNS"] = str(store.root.resolve())  # the kernels read this very store
    print(f"[1/3] the {profile} book: {len(book.runs)} runs for {seeds} seed(s) (stored runs are loaded), "
          f"{workers} workers")
    train_all(list(book.runs.values()), store, workers, device, book.analyses)
    t_train = time.time() - t0

    code = fraglib_digest()
    jobs = [dict(chapter=p.chapter, out=p.out, title=p.title, parameters=p.parameters, cwd=root,
                 key=page_key(p.chapter, p.parameters, [run_identity(store, c) for c in p.runs], code))
            for p in book.pages]
    stale = [j for j in jobs if cached_key(j["out"]) != j["key"]]
    print(f"[2/3] executing {len(stale)} of {len(jobs)} pages with papermill "
          f"({len(jobs) - len(stale)} unchanged, from the page cache)")
    if stale:
        execute_pages(stale, min(workers, len(stale)), max(1, cores() // workers))
    if not build:
        return root / "book" / "runs" / profile
    print("[3/3] building the book with Jupyter Book")
    index = build_html(root, profile, strict)
    print(f"done in {(time.time() - t0) / 60:.1f} min ({t_train / 60:.1f} min of it training or "
          f"loading runs): open {index}")
    return index
