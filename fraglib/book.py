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
from .config import EXECUTORS, MATRIX, RUN_SETS, RunConfig, check_choice, whole_number
from .fileio import ensure_file, sha256, tree_digest
from .questions import QUESTIONS, Question
from .runs import RunStore
from .study import prepare

REPO = Path(__file__).resolve().parents[1]
BOOK_FILES = ["_config.yml", "_toc.yml", "book/intro.md", "book/methods.md", "book/references.md",
              "book/references.bib", "book/_static/fraglib.css"]


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
def _worker_init(threads: int, slots) -> None:
    """A training worker: its torch threads (for embeddings and analyses; training itself uses
    train.CPU_THREADS), and on a machine with GPUs, the GPU it is pinned to."""
    import torch
    torch.set_num_threads(threads)
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
    from .device import pick_device
    dev = pick_device(device)
    if dev.type != "cuda":
        return workers, max(1, cores() // workers), None
    import torch
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
    from .data import load_source
    analyses = analyses or {}
    unique = list({c.digest(): c for c in configs}.values())
    missing = [c for c in unique if not store.is_complete(c)]
    if executor == "slurm":   # the missing runs as tasks; then what is left (analyses) here
        from .cluster import train_on_slurm
        if missing:
            train_on_slurm(missing, store, analyses, slurm)
        missing = []
    for dataset in sorted({c.dataset for c in missing}):  # prepare each dataset once, up front
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


class PageKernels:
    """One Jupyter kernel per page slot, kept for all the slot's pages: each page starts from an
    empty namespace (`%reset -f`) in a warm kernel whose imports (torch, pandas, altair, fraglib)
    are already loaded, which saves their 3-5 s on every page. The kernels run in sessions of
    their own (a terminal's Ctrl-C never reaches them): `stop` kills them."""

    def __init__(self, cwd: Path):
        self.cwd, self.kms, self.pgids, self.clients = Path(cwd), {}, {}, {}
        self.stopped = False

    def kernel(self, slot: int):
        from jupyter_client.manager import KernelManager
        if self.stopped:
            raise RuntimeError("the page kernels were stopped")
        km = self.kms.get(slot)
        if km is None or not km.is_alive():
            km = KernelManager(kernel_name="python3")
            km.start_kernel(cwd=str(self.cwd))
            self.kms[slot] = km
            self.pgids[slot] = getattr(km.provisioner, "pgid", None) or getattr(km.provisioner, "pid", None)
        return km

    def reset(self, km, timeout: float = 120) -> None:
        """An empty namespace for the next page (modules stay imported). Waits in short steps and
        gives up at once when the kernel dies or `stop` is called (a Ctrl-C between two pages)."""
        kc = km.client()
        kc.start_channels()
        try:
            kc.wait_for_ready(timeout=timeout)
            msg_id = kc.execute("%reset -f", silent=True, store_history=False)
            end = time.monotonic() + timeout
            while True:
                if self.stopped or not km.is_alive():
                    raise RuntimeError("the page kernel stopped while its namespace was reset")
                if time.monotonic() > end:
                    raise TimeoutError(f"the page kernel did not reset its namespace in {timeout:.0f} s")
                try:
                    reply = kc.get_shell_msg(timeout=0.2)
                except queue.Empty:
                    continue
                if reply["parent_header"].get("msg_id") == msg_id:
                    return
        finally:
            kc.stop_channels()

    def stop(self) -> None:
        """Kill every kernel, and close the page clients' channels, so that a client waiting for a
        dead kernel's messages gives up at once."""
        import signal
        self.stopped = True
        for pgid in list(self.pgids.values()):
            try:
                os.killpg(pgid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError, TypeError):
                pass
        for client in list(self.clients.values()):
            try:
                client.kc.stop_channels()
            except Exception:
                pass

    def shutdown(self) -> None:
        for km in self.kms.values():
            try:
                km.shutdown_kernel(now=True)
            except Exception:
                pass


def execute(chapter: str, out: Path, title: str, parameters: dict, cwd: Path, key: str = "", position: int = 0,
            kernels: PageKernels | None = None) -> None:
    """Execute one chapter page (its parameters injected as papermill does) in the slot's warm
    kernel; the page appears only when complete."""
    import jupytext
    import nbformat
    from nbclient import NotebookClient
    from papermill.parameterize import parameterize_notebook
    nb = jupytext.read(REPO / "notebooks" / f"{chapter}.py")
    for cell in nb.cells:
        cell.metadata.setdefault("tags", [])
    nb.metadata.setdefault("papermill", {})
    nb = parameterize_notebook(nb, parameters, kernel_name="python3")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(f".{os.getpid()}.{position}.partial.ipynb")
    own = kernels is None
    kernels = kernels or PageKernels(cwd)
    try:
        km = kernels.kernel(position)
        kernels.reset(km)
        code = sum(c.cell_type == "code" for c in nb.cells)
        with tqdm(total=code, desc=out.stem[:30], unit="cell", leave=False, position=position + 1) as bar:
            client = NotebookClient(nb, km=km, kernel_name="python3", timeout=None,
                                    resources={"metadata": {"path": str(cwd)}},
                                    on_cell_executed=lambda **_: bar.update(1))
            kernels.clients[position] = client
            client.execute()
        retitle(nb, title, label=page_label(out))
        for cell in nb.cells:  # the configuration shows once, in the kit's table
            tags = cell.metadata.setdefault("tags", [])
            if {"parameters", "injected-parameters"} & set(tags) and "remove-cell" not in tags:
                tags.append("remove-cell")
        nb.metadata["fraglib"] = {"page_key": key, "fraglib_version": __version__}
        nbformat.write(nb, str(tmp))
        os.replace(tmp, out)  # a half-executed page never replaces a good one
    finally:
        tmp.unlink(missing_ok=True)
        if own:
            kernels.shutdown()


def page_label(out: Path) -> str:
    """A page's MyST label: its path under book/runs, with dashes ("tiny-rq3_top_k-fashion-mnist-ce")."""
    parts = out.with_suffix("").parts
    return "-".join(parts[parts.index("runs") + 1:]) if "runs" in parts else out.stem


STOP_WAIT = 5.0   # seconds an interrupted build waits for its page threads before it exits


def execute_pages(pages: list[dict], workers: int, threads: int) -> None:
    """Execute pages in parallel: `workers` warm kernels at once (`PageKernels`), each limited to
    `threads` threads. Ctrl-C stops at once: no new page starts, the kernels are killed, their
    partial pages removed (the next build executes them again)."""
    import threading
    from nbclient.exceptions import CellExecutionError
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)  # inherited by every kernel started below
    slots: queue.Queue = queue.Queue()
    for i in range(workers):
        slots.put(i)
    stop = threading.Event()
    kernels = PageKernels(pages[0]["cwd"])

    def one(page: dict) -> str:
        if stop.is_set():
            return ""
        slot = slots.get()
        try:
            execute(**page, position=slot, kernels=kernels)
        except CellExecutionError as e:
            if stop.is_set():
                raise
            raise RuntimeError(f"page {page['out'].relative_to(page['cwd'])} failed: {e.ename}: {e.evalue}") from None
        finally:
            slots.put(slot)
        return page["out"].name

    pool = cf.ThreadPoolExecutor(workers)
    futures = [pool.submit(one, p) for p in pages]
    interrupted = False
    try:
        for f in tqdm(cf.as_completed(futures), total=len(futures), desc="pages", unit="page", position=0):
            f.result()
    except BaseException:
        interrupted = True
        stop.set()
        pool.shutdown(wait=False, cancel_futures=True)
        deadline = time.monotonic() + STOP_WAIT
        while not all(f.done() for f in futures):   # a kernel still starting is stopped too
            kernels.stop()
            if time.monotonic() > deadline:   # never seen to outlast it; if one does, say where it waits
                import faulthandler
                print(f"page threads still waiting {STOP_WAIT:.0f} s after the stop (not waited for):",
                      file=sys.stderr, flush=True)
                faulthandler.dump_traceback(sys.stderr, all_threads=True)
                break
            time.sleep(0.2)
        raise
    finally:
        pool.shutdown(wait=not interrupted)
        kernels.shutdown()


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
               seeds: int = 3, executor: str = "local", slurm=None) -> Path:
    """Train what the profile's book reads (for `seeds` seeds, 0 .. seeds-1: the pages then count
    each claim over them; on this machine, or as a Slurm job array with `executor="slurm"` and
    `slurm` a cluster.SlurmOptions), execute its pages and build the book."""
    check_choice("profile", profile, tuple(MATRIX))
    check_choice("executor", executor, EXECUTORS)
    if executor == "slurm":   # before any work: a machine without Slurm is one line
        from .cluster import SlurmOptions, slurm_available
        slurm = slurm or SlurmOptions.defaults(profile)
        why = slurm_available(slurm.partition)
        if why:
            raise RuntimeError(f"--executor slurm: {why}")
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
        execute_pages(stale, min(workers, len(stale)), max(1, cores() // workers))
    if not build:
        return root / "book" / "runs" / profile
    print("[3/3] building the book with Jupyter Book")
    index = build_html(root, profile, strict)
    print(f"done in {(time.time() - t0) / 60:.1f} min ({t_train / 60:.1f} min of it training or "
          f"loading runs): open {index}")
    return index
