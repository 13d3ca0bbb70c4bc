"""The book's pages: each is its chapter (a Jupytext file in notebooks/) executed into
book/runs/<profile>/..., with a title of its own, in warm kernels, in parallel, and cached: a page
is executed again only when its chapter's source, its parameters, its runs or fraglib's code
changed (`page_key`). A half-executed page never replaces a good one.
"""
from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import os
import queue
import re
import sys
import time
from pathlib import Path

from tqdm.auto import tqdm

from . import __version__
from .config import RunConfig
from .provenance import fraglib_digest as _source_digest
from .plan import notebook
from .runs import RunStore

REPO = Path(__file__).resolve().parents[1]


def fraglib_digest() -> str:
    """fraglib's version and the hash of its source (subpackages included): a page made by other
    code is made again."""
    return _source_digest(__version__)


def run_identity(store: RunStore, config: RunConfig) -> dict:
    """A run's config digest and its model's sha256 (a retrained run changes its pages)."""
    metrics = json.loads((store.folder(config) / "metrics.json").read_text())
    return {"config": config.digest(), "model_sha256": metrics["model_sha256"]}


def page_key(chapter: str, parameters: dict, runs: list[dict], code: str) -> str:
    source = notebook(chapter, REPO).read_text()
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

    def __init__(self, cwd: Path, log: Path | None = None):
        self.cwd, self.kms, self.pgids, self.clients = Path(cwd), {}, {}, {}
        self.stopped = False
        self.log = log          # the kernels' own output (their startup chatter) goes here, not to the terminal

    def kernel(self, slot: int):
        from jupyter_client.manager import KernelManager
        if self.stopped:
            raise RuntimeError("the page kernels were stopped")
        km = self.kms.get(slot)
        if km is None or not km.is_alive():
            km = KernelManager(kernel_name="python3")
            if self.log is None:
                km.start_kernel(cwd=str(self.cwd))
            else:
                self.log.parent.mkdir(parents=True, exist_ok=True)
                with open(self.log, "ab") as out:    # the child keeps its own copy of the descriptor
                    km.start_kernel(cwd=str(self.cwd), stdout=out, stderr=out)
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
    nb = jupytext.read(notebook(chapter, REPO))
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


def execute_pages(pages: list[dict], workers: int, threads: int, log: Path | None = None) -> None:
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
    kernels = PageKernels(pages[0]["cwd"], log)

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

