"""pages.py: chapter pages executed in warm kernels; one line for bad input in a page; Ctrl-C stops at once."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from .helpers import REPO



# -- Ctrl-C --------------------------------------------------------------------------------------------
def _kernels() -> set[int]:
    out = subprocess.run(["pgrep", "-f", "ipykernel_launcher"], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


def _page(tmp_path, **parameters):
    """Execute the RQ3 chapter by hand, as a user would with papermill; return the output notebook
    and the error papermill raised (None if it ran)."""
    import jupytext
    import nbformat
    import papermill as pm
    out = tmp_path / "out.ipynb"
    try:
        pm.execute_notebook(jupytext.read(REPO / "notebooks" / "rq3_top_k.py"), str(out), parameters=parameters,
                            kernel_name="python3", cwd=str(REPO), progress_bar=False)
        error = None
    except pm.PapermillExecutionError as e:
        error = e
    return nbformat.read(str(out), as_version=4), error


@pytest.mark.slow
def test_a_bad_chapter_parameter_is_one_line_in_the_page(tmp_path, monkeypatch):
    """Probes: `-p loss nope` and `-p imbalance_ratio -5` printed 50-line tracebacks in the page."""
    monkeypatch.setenv("FRAGLIB_RUNS", str(tmp_path / "runs"))
    for params, needle in (({"loss": "nope"}, "Unknown loss 'nope'; valid choices: ce, focal"),
                           ({"imbalance_ratio": -5}, "imbalance_ratio must be a finite number >= 1"),
                           ({"seeds": 0}, "seeds must be a whole number >= 1")):
        nb, error = _page(tmp_path, profile="tiny", **params)
        assert error is not None
        errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                  if o.output_type == "error"]
        assert len(errors) == 1 and errors[0].traceback == [f"error: {errors[0].evalue}"]
        assert needle in errors[0].evalue
    assert not (tmp_path / "runs").exists()   # refused before anything trained


@pytest.mark.slow
def test_a_whole_float_seed_runs_the_page(tmp_path, shared_store, monkeypatch):
    """Probe: `-p seed 0.0` ended in a 75-line numpy traceback from the bootstrap."""
    monkeypatch.setenv("FRAGLIB_RUNS", str(shared_store.root))
    nb, error = _page(tmp_path, profile="tiny", seed=0.0)
    assert error is None


@pytest.mark.slow
def test_a_page_whose_runs_and_analyses_are_stored_never_imports_torch(tmp_path, shared_store, monkeypatch):
    """Probe: each page kernel imported torch (2.5-4 s of a rebuild on a 2-core CPU) although every
    run and analysis it read was stored. Now torch is imported only where a network runs: a page
    computed once (the first kernel trains and analyses what is missing) reads everything again
    without it."""
    monkeypatch.setenv("FRAGLIB_RUNS", str(shared_store.root))
    monkeypatch.setenv("FRAGLIB_CACHE", str(tmp_path / "cache"))
    nb, error = _page(tmp_path, profile="tiny")
    assert error is None
    import jupytext
    cells = [c.source + ("\nprofile = 'tiny'" if "parameters" in c.metadata.get("tags", []) else "")
             for c in jupytext.read(REPO / "notebooks" / "rq3_top_k.py").cells if c.cell_type == "code"]
    page = tmp_path / "page.py"                                      # the page's code cells, as its kernel runs them
    page.write_text("\n".join(cells) + "\nimport sys\nprint('torch' in sys.modules)\n")
    done = subprocess.run([sys.executable, str(page)], cwd=REPO, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split()[-1] == "False", done.stdout[-3000:]


@pytest.mark.slow
def test_ctrl_c_stops_the_book_within_seconds_and_the_next_build_resumes(tmp_path, shared_store):
    """Probe: interrupted 2 s into the first page, the build went on through all 34 pages and
    exited 94 s later (the kernels run in sessions of their own, which SIGINT never reaches)."""
    import signal
    env = {**os.environ, "FRAGLIB_RUNS": str(shared_store.root)}
    cmd = [sys.executable, "-m", "fraglib", "book", "--profile", "tiny", "--root", str(tmp_path), "--no-build"]
    before = _kernels()
    # its own process group, as a terminal's job, with SIGINT's default action as a terminal gives it: a
    # child inherits an ignored SIGINT, and something earlier in a full test run leaves this process
    # ignoring it (the build then never saw the Ctrl-C and ran to its end, 30 s)
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            start_new_session=True, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "[2/3] executing" in line:
            break
    time.sleep(2)
    t0 = time.time()
    os.killpg(proc.pid, signal.SIGINT)   # what Ctrl-C sends: the foreground process group
    rest, _ = proc.communicate(timeout=60)
    assert time.time() - t0 < 15, f"stopped after {time.time() - t0:.0f} s:\n{rest[-6000:]}"
    assert proc.returncode == 130 and "interrupted" in rest, "".join(lines) + rest
    runs = tmp_path / "book" / "runs" / "tiny"
    assert not list(runs.glob("**/*.partial.ipynb"))            # no half-written page kept
    time.sleep(1)
    assert _kernels() <= before                                 # no kernel left running
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert list(runs.glob("summary.ipynb"))


def test_a_ctrl_c_between_two_pages_stops_the_namespace_reset_at_once(tmp_path):
    """Probe: a SIGINT while a kernel reset its namespace for the next page waited out the reset's
    120 s timeout on the killed kernel."""
    import threading

    from fraglib.pages import PageKernels
    kernels = PageKernels(tmp_path)
    km = kernels.kernel(0)
    busy = km.client()
    busy.start_channels()
    busy.wait_for_ready(timeout=60)
    # an object that takes a minute to delete: the reset below is under way when Ctrl-C comes
    busy.execute_interactive("class Slow:\n    def __del__(self):\n        __import__('time').sleep(60)\n"
                             "slow = Slow()", timeout=60, output_hook=lambda msg: None)
    failed = []

    def reset():
        try:
            kernels.reset(km)
        except Exception as e:
            failed.append(e)

    t = threading.Thread(target=reset)
    t.start()
    time.sleep(1)
    t0 = time.time()
    kernels.stop()
    t.join(timeout=10)
    busy.stop_channels()
    kernels.shutdown()
    assert not t.is_alive() and time.time() - t0 < 5, "the reset waited on a killed kernel"
    assert failed and "stopped" in str(failed[0])
