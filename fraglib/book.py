"""`python -m fraglib book`: train the matrix, execute every chapter per configuration, build.

1. Every run the profile's matrix needs (one balanced cross-entropy reference per dataset, and
   one imbalanced run per configuration) is trained or loaded, the longest first, in parallel
   worker processes whose torch thread counts add up to the cores; each run's embeddings and
   costly analyses are computed once there, so the chapters only read the run store.
2. Each chapter (a Jupytext file in notebooks/) is converted in memory and executed by papermill
   once per configuration, into book/runs/<profile>/<chapter>/<dataset>-<loss>.ipynb, with a
   title of its own; the summary page once per profile. Pages run in parallel, one kernel per
   core with one torch thread each, and are cached: a page is executed again only when its
   chapter's source, its parameters, its runs or fraglib's code changed (`page_key`).
3. Jupyter Book 1.x builds the static HTML into book/_build/html (charts drawn by one local
   vega bundle in book/_static, so they show offline); Sphinx rebuilds only changed pages.
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import multiprocessing
import os
import queue
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tqdm.auto import tqdm

from . import __version__
from .config import MATRIX, RunConfig, check_choice, whole_number
from .fileio import ensure_file, sha256
from .runs import RunStore
from .study import study_configs

REPO = Path(__file__).resolve().parents[1]

CHAPTERS = ["rq1_retraining", "rq2_generalization", "rq3_top_k", "rq4_ce_diversity", "rq5_weights",
            "rq6_fe_diversity", "rq7_false_positives", "eos"]
SHORT = {"rq1_retraining": "RQ1", "rq2_generalization": "RQ2", "rq3_top_k": "RQ3",
         "rq4_ce_diversity": "RQ4", "rq5_weights": "RQ5", "rq6_fe_diversity": "RQ6",
         "rq7_false_positives": "RQ7", "eos": "EOS"}
BOOK_FILES = ["_config.yml", "_toc.yml", "book/intro.md", "book/methods.md", "book/references.md",
              "book/references.bib", "book/_static/fraglib.css"]


def chapters() -> list[str]:
    return [c for c in CHAPTERS if (REPO / "notebooks" / f"{c}.py").exists()]


def cores() -> int:
    """CPU cores this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def matrix_configs(profile: str, seed: int = 0) -> list[tuple[tuple, RunConfig, RunConfig]]:
    """(configuration, balanced config, imbalanced config) for every entry of the profile's matrix,
    validated before anything trains."""
    return [((d, l, r), *study_configs(d, l, r, profile, seed)) for d, l, r in MATRIX[profile]]


PROCRUSTEAN_SITE, PROCRUSTEAN_STRENGTH = "feature", 0.5   # the chapter's default (methods page)


def collapse_configs(profile: str, seeds) -> list[RunConfig]:
    """The cross-entropy runs of RQ5's Minority Collapse section: the matrix's first dataset at
    each of COLLAPSE_RATIOS, for every seed."""
    from .config import COLLAPSE_RATIOS
    dataset = MATRIX[profile][0][0]
    return [study_configs(dataset, "ce", r, profile, s)[1] for s in seeds for r in COLLAPSE_RATIOS[profile]]


def check_seeds(seeds) -> int:
    """The number of seeds per configuration: a whole number >= 1 (2, 2.0 and "2" alike)."""
    return whole_number("seeds (seeds 0 .. N-1 are trained)", seeds, minimum=1)


# -- 1. training ---------------------------------------------------------------------------------
def _worker_init(threads: int) -> None:
    import torch
    torch.set_num_threads(threads)


def _train_and_measure(config_dict: dict, store_root: str, device: str | None, analyse: bool = True) -> str:
    """Worker task: train (or load) one run, extract its embeddings and compute the analyses
    that cost time (RQ1's re-trained head, EOS), so the pages only read; returns its label."""
    from .figures import eos_rows, retrained_bac
    store = RunStore(store_root)
    config = RunConfig.from_dict(config_dict)
    run = store.get(config, progress=True, device=device)
    run.embeddings(device)
    if analyse and not config.balanced:
        retrained_bac(run)
        eos_rows(run)
    return config.label()


def train_all(configs: list[RunConfig], store: RunStore, workers: int, device: str | None = None,
              analyse: set | None = None) -> None:
    """Train the missing runs, the longest first, in `workers` processes of cores // workers
    threads each (more threads than cores thrash: two 2-thread processes on 2 cores ran 5x
    slower), each run's embeddings and costly analyses with it."""
    from .config import SPECS, imbalance_counts
    from .data import load_source
    from .device import pick_device
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
    workers = 1 if pick_device(device).type == "cuda" else max(1, min(workers, len(missing)))
    if workers == 1:
        for c in tqdm(unique, desc="runs", unit="run"):
            _train_and_measure(c.to_dict(), str(store.root), device, analyse is None or c.digest() in analyse)
        return
    threads = max(1, cores() // workers)
    tasks = [(c.to_dict(), str(store.root), device, analyse is None or c.digest() in analyse) for c in unique]
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
    h = hashlib.sha256(__version__.encode())
    for f in sorted((REPO / "fraglib").glob("*.py")):
        h.update(f.name.encode() + f.read_bytes())
    return h.hexdigest()


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
    a subtitle."""
    for cell in nb.cells:
        if cell.cell_type == "markdown" and cell.source.lstrip().startswith("# "):
            first, _, rest = cell.source.lstrip().partition("\n")
            target = f"({label})=\n" if label else ""
            cell.source = f"{target}# {title}\n\n**{first[2:].strip()}**\n{rest}"
            return


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
        retitle(executed, title, label=f"{out.parent.parent.name}-{out.parent.name}-{out.stem}")
        for cell in executed.cells:  # the configuration shows once, in the kit's table
            tags = cell.metadata.setdefault("tags", [])
            if {"parameters", "injected-parameters"} & set(tags) and "remove-cell" not in tags:
                tags.append("remove-cell")
        executed.metadata["fraglib"] = {"page_key": key, "fraglib_version": __version__}
        nbformat.write(executed, str(tmp))
        os.replace(tmp, out)  # a half-executed page never replaces a good one
    finally:
        tmp.unlink(missing_ok=True)


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


def profile_toc(root: Path, profile: str) -> Path:
    """_toc.yml with its run globs narrowed to one profile, so two profiles' pages never mix."""
    toc = (root / "_toc.yml").read_text().replace("book/runs/*/", f"book/runs/{profile}/")
    path = root / "book" / "_build" / f"_toc.{profile}.yml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(toc)
    return path


def build_book(profile: str = "quick", build: bool = True, only=None, root: Path | None = None,
               strict: bool = False, seed: int = 0, workers: int | None = None,
               device: str | None = None, seeds: int = 1) -> Path:
    """Train the profile's matrix (for `seeds` seeds, 0 .. seeds-1: the pages then count each
    claim over them), execute its pages and build the book."""
    check_choice("profile", profile, tuple(MATRIX))
    seeds = check_seeds(seeds)
    for name in only or ():
        check_choice("chapter", name, chapters() + ["procrustean"])
    workers = workers or cores()
    root = Path(root) if root else REPO
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
    matrix = matrix_configs(profile, seed)
    seed_list = sorted({seed, *range(seeds)})
    by_seed = {s: matrix_configs(profile, s) for s in seed_list}
    configs = [c for m in by_seed.values() for _, bal, imb in m for c in (bal, imb)]
    extra = collapse_configs(profile, seed_list)   # RQ5's Minority Collapse section
    from .figures import procrustean_configs
    procrustean = list(procrustean_configs(MATRIX[profile][0][0], profile, seed, PROCRUSTEAN_SITE,
                                           PROCRUSTEAN_STRENGTH).values())
    configs += extra + procrustean
    n_runs = len({c.digest() for c in configs})
    print(f"[1/3] the {profile} matrix: {n_runs} runs for {seeds} seed(s) (stored runs are loaded), "
          f"{workers} workers")
    analyse = {c.digest() for m in by_seed.values() for _, _, c in m}   # RQ1's head and EOS: the matrix's
    train_all(configs, store, workers, device, analyse)
    t_train = time.time() - t0

    code = fraglib_digest()
    out_dir = root / "book" / "runs" / profile
    todo = [c for c in chapters() if not only or c in only]
    pages = []
    for chapter in todo:
        for i, ((dataset, loss, ratio), bal, imb) in enumerate(matrix):
            params = dict(dataset=dataset, loss=loss, imbalance_ratio=float(ratio), profile=profile,
                          seed=seed, seeds=seeds)
            runs = [run_identity(store, c) for m in by_seed.values() for c in m[i][1:]]
            runs += [run_identity(store, c) for c in extra] if chapter == "rq5_weights" else []
            pages.append(dict(chapter=chapter, out=out_dir / chapter / f"{dataset}-{loss}.ipynb",
                              title=f"{SHORT[chapter]} · {dataset} · {loss} · {ratio:g}:1 ({profile})",
                              parameters=params, cwd=root, key=page_key(chapter, params, runs, code)))
    all_runs = [run_identity(store, c) for c in configs]
    for chapter in todo:  # one page per RQ with every configuration side by side
        params = dict(rq=SHORT[chapter], profile=profile, seed=seed, seeds=seeds)
        pages.append(dict(chapter="compare", out=out_dir / chapter / "all.ipynb",
                          title=f"{SHORT[chapter]} · every configuration ({profile})", parameters=params,
                          cwd=root, key=page_key("compare", params, all_runs, code)))
    if not only or "procrustean" in only:   # one page per profile, its four runs
        params = dict(dataset=MATRIX[profile][0][0], profile=profile, seed=seed, seeds=seeds,
                      site=PROCRUSTEAN_SITE, strength=PROCRUSTEAN_STRENGTH)
        pages.append(dict(chapter="procrustean", out=out_dir / "procrustean.ipynb",
                          title=f"Procrustean training, our interpretation ({profile})", parameters=params,
                          cwd=root, key=page_key("procrustean", params,
                                                 [run_identity(store, c) for c in procrustean], code)))
    params = dict(profile=profile, seed=seed, seeds=seeds)
    pages.append(dict(chapter="summary", out=out_dir / "summary.ipynb",
                      title=f"Summary: every claim, every run ({profile})", parameters=params, cwd=root,
                      key=page_key("summary", params, all_runs, code)))
    stale = [p for p in pages if cached_key(p["out"]) != p["key"]]
    print(f"[2/3] executing {len(stale)} of {len(pages)} pages with papermill "
          f"({len(pages) - len(stale)} unchanged, from the page cache)")
    if stale:
        execute_pages(stale, min(workers, len(stale)), max(1, cores() // workers))
    if not build:
        return out_dir
    print("[3/3] building the book with Jupyter Book")
    from .charts import write_vega_bundle
    write_vega_bundle(root / "book" / "_static")
    write_mathjax(root / "book" / "_static")
    cmd = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(root), "--path-output",
           str(root / "book"), "--builder", "html", "--toc", str(profile_toc(root, profile))]
    if strict:
        cmd += ["-W", "-n", "--keep-going"]
    if subprocess.run(cmd).returncode:
        raise RuntimeError("jupyter-book build failed: its messages are above")
    index = root / "book" / "_build" / "html" / "index.html"
    print(f"done in {(time.time() - t0) / 60:.1f} min ({t_train / 60:.1f} min of it training or "
          f"loading runs): open {index}")
    return index
