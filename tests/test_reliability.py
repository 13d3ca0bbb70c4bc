"""Issue 16: the same run and green tests on every CPU, a Ctrl-C that stops, and no trained run
thrown away. Each test reproduces a failure seen on the code before it (named in its docstring)."""
from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

import fraglib.runs as R
from fraglib.__main__ import build_parser, config_from_args, main
from fraglib.plan import plan
from fraglib.config import MATRIX, PROFILES, RunConfig
from fraglib.device import CPU_BF16_ENV
from fraglib.fileio import clean_temporaries, load_verified, read_json, save_verified, sha256, write_bytes, \
    write_json
from fraglib.train import Interrupted

from .helpers import REPO, no_training, tiny


# -- one place makes a run's config -----------------------------------------------------------------
def cli_config(*args) -> RunConfig:
    return config_from_args(build_parser().parse_args(["train", *args]))


@pytest.mark.precision
@pytest.mark.parametrize("cpu", ["native", "emulated"])
@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_the_cli_names_the_books_runs_on_either_kind_of_cpu(monkeypatch, profile, cpu):
    """Probe: on a bf16-native CPU `train --profile tiny` trained a bf16 run while the book and the
    tests named the tiny profile's fp32 run; `train --profile quick` chose its epoch from all 40."""
    monkeypatch.setenv(CPU_BF16_ENV, cpu)
    runs = [c for c in plan(profile, 2).runs.values()
            if c.procrustean == "none" and not c.clean_history]   # the CLI has no mixing, no clean history
    assert len(runs) >= len(MATRIX[profile]) + 1
    for c in runs:
        args = ["--dataset", c.dataset, "--loss", c.loss, "--ratio", f"{c.imbalance_ratio:g}", "--profile",
                profile, "--imbalance-type", c.imbalance_type, "--seed", str(c.seed), "--device", "cpu"]
        assert cli_config(*args).key() == c.key()


@pytest.mark.precision
def test_the_cli_prints_the_books_run_folder(tmp_path):
    """The same through a real command line (a new process resolves precision on its own)."""
    dataset, loss, ratio = MATRIX["tiny"][0]
    out = subprocess.run([sys.executable, "-m", "fraglib", "train", "--profile", "tiny", "--loss", loss,
                          "--runs", str(tmp_path), "--dry-run"], cwd=REPO, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    expected = R.RunStore(tmp_path).folder(RunConfig.make(dataset, loss, ratio, profile="tiny"))
    assert json.loads(out.stdout)["folder"] == str(expected)


@pytest.mark.parametrize("override", [{"precision": "auto"}, {"batch_size": 64}, {"lr": 0.05},
                                      {"precision": None}])
def test_overriding_a_regime_field_keeps_the_profiles_selection_window(override):
    """Probe: make(profile='quick', precision='auto') reset select_from_epoch from 36 to 0."""
    assert RunConfig.make(profile="quick", **override).regime.select_from_epoch == 36


def test_fewer_epochs_move_the_selection_window_with_them():
    assert RunConfig.make(profile="quick", epochs=20).regime.select_from_epoch == 18
    assert RunConfig.make(profile="quick", epochs=20, select_from_epoch=3).regime.select_from_epoch == 3
    assert RunConfig.make(profile="paper", epochs=20).regime.select_from_epoch == 16   # from 160 of 200


# -- bad input: one line, before any work ------------------------------------------------------------
@pytest.mark.parametrize("args,needle", [
    (["book", "--workers", "0"], "--workers: must be a whole number >= 1"),
    (["book", "--workers", "-1"], "--workers: must be a whole number >= 1"),
    (["book", "--seeds", "0"], "--seeds: must be a whole number >= 1"),
    (["train", "--ratio", "-5", "--dry-run"], "imbalance_ratio must be a finite number >= 1"),
    (["train", "--loss", "nope"], "invalid choice: 'nope'"),
])
def test_bad_options_are_one_line_before_any_work(tmp_path, args, needle):
    """Probes: `book --workers 0` was read as one per core; `--workers -1` trained the whole matrix
    and failed at the page step."""
    env = {**os.environ, "FRAGLIB_RUNS": str(tmp_path / "runs")}
    r = subprocess.run([sys.executable, "-m", "fraglib", *args], cwd=REPO, capture_output=True, text=True,
                       env=env, timeout=60)
    assert r.returncode == 2 and needle in r.stderr, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and not (tmp_path / "runs").exists()


def test_whole_float_seeds_are_accepted_like_whole_numbers():
    assert cli_config("--seed", "1.0", "--profile", "tiny").seed == 1
    assert build_parser().parse_args(["book", "--seeds", "3.0"]).seeds == 3


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


# -- Ctrl-C --------------------------------------------------------------------------------------------
def _kernels() -> set[int]:
    out = subprocess.run(["pgrep", "-f", "ipykernel_launcher"], capture_output=True, text=True).stdout
    return {int(p) for p in out.split()}


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


# -- writers and readers of a run folder ---------------------------------------------------------------
WRITER = """
import sys, time
from fraglib.runs import RunStore
from fraglib.config import RunConfig
store = RunStore(sys.argv[1])
run = store.get(RunConfig.make('fashion-mnist', 'ce', 100, profile='tiny'), train_if_missing=False)
ok = bad = 0
end = time.time() + float(sys.argv[2])
i = 0
while time.time() < end:
    i += 1
    try:
        run.derived('probe', {'i': i}, lambda: list(range(2000)))
        ok += 1
    except OSError as e:
        bad += 1
print(ok, bad)
"""


@pytest.mark.slow
def test_a_derived_write_survives_a_reader_asking_for_the_run(done):
    """Probe: `RunStore.get` tidied derived/ and removed the writer's temporary file: 2,806 of
    3,871 writes failed in a 60 s loop."""
    store, folder = done
    writer = subprocess.Popen([sys.executable, "-c", WRITER, str(store.root), "6"], cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    end = time.time() + 6
    reads = 0
    while time.time() < end:
        store.get(tiny(), train_if_missing=False)
        reads += 1
    ok, bad = map(int, writer.communicate(timeout=60)[0].split())
    assert reads > 50 and ok > 50 and bad == 0, (reads, ok, bad)


def test_only_a_dead_writers_temporaries_are_removed(tmp_path):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    import socket
    host = socket.gethostname().replace(".", "_")
    live = tmp_path / f".x.json.{host}-{os.getpid()}.abc.tmp"
    gone = tmp_path / f".x.json.{host}-{dead}.abc.tmp"
    old_style = tmp_path / ".x.json.abc123.tmp"
    other_host = tmp_path / f".x.json.otherhost-{dead}.abc.tmp"
    for p in (live, gone, old_style, other_host):
        p.write_text("partial")
    assert clean_temporaries(tmp_path) == 2
    assert live.exists() and other_host.exists() and not gone.exists() and not old_style.exists()


# -- no run thrown away that can be verified ----------------------------------------------------------
def test_a_run_of_the_release_before_digests_is_adopted(done, monkeypatch, capsys):
    """Probe: a store written before the digests (same folder keys) was deleted and retrained with
    only "training ..." printed."""
    store, folder = done
    metrics = read_json(folder / "metrics.json")
    history = metrics.pop("history")
    metrics.pop("config_digest", None)
    (folder / "config.json").write_text(json.dumps({"config": tiny().to_dict(), "fraglib_version": "0.1.0"}))
    (folder / "metrics.json").write_text(json.dumps(metrics))
    (folder / "history.json").write_text(json.dumps(history))
    for blob in (folder / "derived").glob("*.json"):
        blob.unlink()
    (folder / "derived").mkdir(exist_ok=True)
    (folder / "derived" / "retrain.json").write_text(json.dumps({"key": {"a": 1}, "value": 0.5}))
    no_training(monkeypatch)
    run = store.get(tiny(), progress=True)
    assert "adopted" in capsys.readouterr().out and store.is_complete(tiny())
    assert run.history == history and run.metrics["model_sha256"] == sha256(folder / "model.pt")
    assert read_json(folder / "derived" / "retrain.json")["value"] == 0.5


@pytest.mark.parametrize("content", ["garbage", "foreign"])
def test_a_damaged_or_foreign_config_file_keeps_a_verified_model(done, monkeypatch, capsys, content):
    """Probe: a damaged or foreign config.json deleted a model.pt that matched its digest."""
    store, folder = done
    model = sha256(folder / "model.pt")
    if content == "garbage":
        (folder / "config.json").write_text("{garbage")
    else:
        write_json({"config": tiny(ratio=10).to_dict(), "fraglib_version": "0.1.0"}, folder / "config.json")
    no_training(monkeypatch)
    store.get(tiny(), progress=True)
    assert "config.json" in capsys.readouterr().out and sha256(folder / "model.pt") == model
    assert store.is_complete(tiny())


def test_a_folder_holding_another_run_is_set_aside_not_deleted(done, capsys):
    store, folder = done
    for name in ("metrics.json", "history.json"):
        record = read_json(folder / name)
        target = record["summary"] if "summary" in record else record
        target["config_digest"] = "0123456789"
        write_json(record, folder / name)
    write_json({"config": tiny(ratio=10).to_dict()}, folder / "config.json")
    model = sha256(folder / "model.pt")
    store.get(tiny(), progress=True)
    out = capsys.readouterr().out
    assert "another configuration" in out and "moved, not deleted" in out
    aside = [p for p in folder.parent.iterdir() if ".foreign-" in p.name]
    assert len(aside) == 1 and sha256(aside[0] / "model.pt") == model and store.is_complete(tiny())


def test_every_retrain_says_which_file_and_why(done, capsys):
    store, folder = done
    for name in ("metrics.json", "history.json"):
        (folder / name).write_text("{")
    store.get(tiny(), progress=True)
    assert "metrics.json and history.json are both missing or damaged" in capsys.readouterr().out


def test_a_checkpoint_from_a_changed_network_restarts_with_one_line(store, shared_store, capsys):
    """Probe: a digest-correct checkpoint from a changed network failed with `size mismatch` on
    every retry until deleted by hand."""
    with pytest.raises(Interrupted):
        store.get(tiny(), progress=False, stop_after_epoch=1)
    ckpt = store.folder(tiny()) / "checkpoint.pt"
    saved = load_verified(ckpt, weights_only=False)
    name = next(k for k, v in saved["model"].items() if v.dim() == 2)
    saved["model"][name] = torch.zeros(3, 3)   # as if models.py had changed the layer's shape
    save_verified(saved, ckpt)
    run = store.get(tiny(), progress=False)
    out = capsys.readouterr().out
    assert "does not fit this network" in out and len([l for l in out.splitlines() if "checkpoint" in l]) == 1
    assert run.metrics["model_sha256"] == shared_store.get(tiny(), progress=False).metrics["model_sha256"]


def _another_stride(monkeypatch):
    """As if models.py's first convolution had lost its stride since the run was trained: the same
    parameter shapes, another function (what the quick profile's net went through)."""
    import fraglib.train as T
    build = T.build_model

    def edited(*a, **k):
        model = build(*a, **k)
        model.extractor.body[0].stride = (1, 1)
        return model

    monkeypatch.setattr(T, "build_model", edited)
    T._fingerprint.cache_clear()     # the caller clears it again once the edit is undone
    return T


def test_a_run_of_another_networks_code_is_set_aside_and_trained_again(done, monkeypatch, capsys):
    """Probe: seed 0's runs, trained before the quick net's first convolutions were strided, were
    loaded into the strided net by the next build (same parameter shapes) and evaluated as if
    current: one run, two test BACs (70.6 and 73.3) in the same book."""
    store, folder = done
    model, before = sha256(folder / "model.pt"), read_json(folder / "metrics.json")["network"]
    T = _another_stride(monkeypatch)
    try:
        assert not store.is_complete(tiny())                        # not handed out as it stands
        run = store.get(tiny(), progress=True)
        out = capsys.readouterr().out
        assert "trained by another version of the network" in out and "training" in out
        aside = [p for p in folder.parent.iterdir() if ".other-network-" in p.name]
        assert len(aside) == 1 and sha256(aside[0] / "model.pt") == model      # moved, not deleted
        assert run.metrics["network"] == T.network_fingerprint(tiny()) != before and store.is_complete(tiny())
    finally:
        monkeypatch.undo()
        T._fingerprint.cache_clear()


def test_a_run_that_recorded_no_network_is_checked_and_kept(done, monkeypatch, capsys):
    """Runs trained before runs recorded their network: kept when today's network gives their
    recorded test BAC from their weights."""
    store, folder = done
    for name in ("metrics.json", "history.json"):
        record = read_json(folder / name)
        (record["summary"] if "summary" in record else record).pop("network")
        write_json(record, folder / name)
    assert not store.is_complete(tiny())
    no_training(monkeypatch)
    run = store.get(tiny(), progress=True)
    assert "checked" in capsys.readouterr().out and store.is_complete(tiny())
    assert read_json(folder / "history.json")["summary"]["network"] == run.metrics["network"]


def test_a_damaged_metrics_file_is_not_rebuilt_by_another_network(done, capsys):
    """metrics.json rebuilt by today's network would hold today's test BAC, and the network check
    would then pass whatever the weights: a run whose history names another network is set aside."""
    store, folder = done
    history = read_json(folder / "history.json")
    history["summary"]["network"] = "an older network"
    write_json(history, folder / "history.json")
    (folder / "metrics.json").write_text("{")
    store.get(tiny(), progress=True)
    assert "names another version of the network" in capsys.readouterr().out
    assert [p for p in folder.parent.iterdir() if ".unchecked-" in p.name] and store.is_complete(tiny())


def test_a_checkpoint_of_another_networks_code_is_not_resumed(store, monkeypatch, capsys):
    with pytest.raises(Interrupted):
        store.get(tiny(), progress=False, stop_after_epoch=1)
    T = _another_stride(monkeypatch)
    try:
        with pytest.raises(Interrupted):
            store.get(tiny(), progress=False, stop_after_epoch=1)
        assert "another version of the network" in capsys.readouterr().out
    finally:
        monkeypatch.undo()
        T._fingerprint.cache_clear()


# -- static files and temporaries ----------------------------------------------------------------------
def test_a_truncated_vega_bundle_is_written_again(tmp_path):
    """Probe: a truncated vega-bundle.js was reused, and every chart silently stopped drawing."""
    from fraglib.charts import write_vega_bundle
    path = write_vega_bundle(tmp_path)
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 3])
    assert write_vega_bundle(tmp_path).read_bytes() == whole


def test_a_truncated_mathjax_is_copied_again(tmp_path):
    from fraglib.book import MATHJAX, write_mathjax
    if not MATHJAX.exists():
        pytest.skip("MathJax is not installed (bash .ci/setup fetches it)")
    path = write_mathjax(tmp_path)
    path.write_bytes(path.read_bytes()[:100])
    assert sha256(write_mathjax(tmp_path)) == sha256(MATHJAX)


def test_a_killed_data_preparation_leaves_no_temporary(tmp_path):
    """Probe: a kill while the prepared data was written left a 45 MB temporary for good."""
    from fraglib.data import load_source
    prepared = tmp_path / "prepared"
    prepared.mkdir()
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True).stdout.strip()
    import socket
    stray = prepared / f".fashion-mnist-test.pt.{socket.gethostname().replace('.', '_')}-{dead}.x1.tmp"
    stray.write_bytes(b"half")
    load_source("fashion-mnist", False, tmp_path)
    assert not stray.exists() and (prepared / "fashion-mnist-test.pt").exists()


def test_a_full_disk_names_the_path(tmp_path, monkeypatch, capsys):
    """Probe: "No space left on device: ?" named no path."""
    target = tmp_path / "runs" / "metrics.json"

    def full(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(Path, "write_bytes", full)
    with pytest.raises(OSError) as e:
        write_bytes(b"x", target)
    assert e.value.filename == str(target)
    from fraglib.__main__ import os_error_line
    assert str(target) in os_error_line(e.value) and "?" not in os_error_line(e.value)
    assert not [p for p in target.parent.iterdir()]   # nothing half-written kept


def test_main_reports_an_interrupt_as_one_line(monkeypatch, capsys):
    import fraglib.runs
    monkeypatch.setattr(fraglib.runs.RunStore, "get", lambda *a, **k: (_ for _ in ()).throw(KeyboardInterrupt))
    assert main(["train", "--profile", "tiny", "--quiet"]) == 130
    assert "interrupted" in capsys.readouterr().err


def test_embeddings_are_extracted_again_once_the_code_that_extracts_them_changes(done, monkeypatch):
    store, _ = done
    run = store.get(tiny(), train_if_missing=False)
    run.embeddings()
    calls, real = [], R.extract
    monkeypatch.setattr(R, "extract", lambda *a, **k: calls.append(1) or real(*a, **k))
    run.embeddings()
    assert not calls                                           # stored, same code: read
    monkeypatch.setattr(R, "source_digest", lambda module: "edited")
    run.embeddings()
    assert calls == [1] and run.metrics["embeddings_code"] == "edited"
