"""The run store: one folder per configuration; asking for a stored run loads it.

    runs/<dataset>/<profile>/<ratio>/loss=<loss>/seed=<seed>-<hash>/
        config.json       the full RunConfig (and the fraglib version that trained it)
        checkpoint.pt     while training: last epoch's state, for resume (removed when done)
        model.pt          the chosen epoch's weights (a plain torch file)
        history.json      one entry per epoch, and the training's summary (with model.pt's sha256)
        metrics.json      BAC, per-class accuracy, timing, the history again; written last, with
                          the sha256 of model.pt and of embeddings.npz
        embeddings.npz    fe / logits / W / b (written on first use, see embed.py)
        derived/<name>.json   analyses that cost time (RQ1's re-trained head, EOS), keyed

Nothing is trusted unverified (fileio.py): the JSON files carry a digest of their content, the
checkpoint a digest header, model.pt and embeddings.npz are checked against the sha256 that
metrics.json records. A run is complete only when all of them verify and name the same config.
What is damaged is redone alone: a damaged history.json is written again from metrics.json, a
damaged metrics.json rebuilt from history.json and the model (an evaluation, seconds), damaged
embeddings extracted again, a damaged derived analysis computed again, a damaged checkpoint
discarded (training restarts); only a damaged model.pt means training again. A file lock keeps
two processes from writing the same run at once, and one that waits says for whom.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import time
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

import torch
from filelock import FileLock, Timeout

from . import __version__
from .config import RunConfig
from .data import RunData, make_run_data
from .embed import Embeddings, extract
from .fileio import Damaged, atomic_torch_save, clean_temporaries, read_json, sha256, write_json
from .train import evaluate, new_model, pick_device, train

FILES = ("config.json", "model.pt", "history.json", "metrics.json")


def default_root() -> Path:
    """Run store: $FRAGLIB_RUNS, else `runs/` beside the package's source checkout; resolved
    once, here, so that a relative path means the same folder to every process."""
    env = os.environ.get("FRAGLIB_RUNS")
    return (Path(env) if env else Path(__file__).resolve().parents[1] / "runs").resolve()


def _read(path: Path) -> dict | None:
    """A verified JSON record, or None where it is missing or damaged."""
    try:
        return read_json(path)
    except (OSError, Damaged):
        return None


def _sha(path: Path) -> str | None:
    try:
        return sha256(path)
    except OSError:
        return None


@contextmanager
def locked(folder: Path, what: str, poll: float = 5.0):
    """Hold the folder's lock; while another process holds it, say once which run it is and who
    holds it. Temporary files a killed writer left behind are removed once the lock is held."""
    lock = FileLock(str(folder / ".lock"))
    owner = folder / ".lock.owner"
    try:
        lock.acquire(timeout=poll)
    except Timeout:
        try:
            who = json.loads(owner.read_text())
            by = f"process {who['pid']} on {who['host']}, since {who['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            by = "another process"
        print(f"waiting for {what}: {by} holds {folder / '.lock'}", flush=True)
        lock.acquire()
    try:
        owner.write_text(json.dumps({"pid": os.getpid(), "host": socket.gethostname(),
                                     "since": time.strftime("%Y-%m-%dT%H:%M:%S")}))
        clean_temporaries(folder)
        clean_temporaries(folder / "derived")
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


class Run:
    """A complete run in the store. Reads are lazy; nothing here trains."""

    def __init__(self, folder: Path, config: RunConfig, data_root=None):
        self.folder, self.config, self._data_root = Path(folder), config, data_root

    def __repr__(self):
        return f"Run({self.config.label()!r}, {self.folder})"

    @property
    def metrics(self) -> dict:
        """metrics.json, verified (a damaged one is an error: `RunStore.get` repairs it)."""
        return read_json(self.folder / "metrics.json")

    @property
    def history(self) -> list:
        """One entry per epoch (from metrics.json, which keeps a verified copy)."""
        return self.metrics["history"]

    @cached_property
    def data(self) -> RunData:
        return make_run_data(self.config, self._data_root)

    def model(self, device=None):
        path = self.folder / "model.pt"
        if _sha(path) != self.metrics["model_sha256"]:
            raise Damaged(path, "does not match the sha256 in metrics.json: ask the store for the run "
                                "again (RunStore.get) to retrain it")
        model = new_model(self.config, self.data)
        model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
        return model.to(pick_device(device)).eval()

    def _embeddings_ok(self) -> bool:
        path = self.folder / "embeddings.npz"
        return path.exists() and self.metrics.get("embeddings_sha256") == sha256(path)

    def embeddings(self, device=None) -> Embeddings:
        """fe / logits / W / b of this run (extracted into embeddings.npz on first use)."""
        if not self._embeddings_ok():
            with locked(self.folder, f"the embeddings of {self.config.label()}"):
                if not self._embeddings_ok():  # a damaged or missing file is extracted anew
                    digest = extract(self.model(device), self.data, self.folder / "embeddings.npz", device)
                    self.update_metrics(embeddings_sha256=digest)
        return Embeddings.load(self.folder / "embeddings.npz")

    def derived(self, name: str, key: dict, compute):
        """A derived analysis of this run, computed once into derived/<name>.json.

        The file stores `key` (with this run's model digest) beside the value; a file made for
        another key, or damaged, is computed again. Written atomically, so two processes at
        worst compute the same value twice, and a half-written file is never read."""
        path = self.folder / "derived" / f"{name}.json"
        key = json.loads(json.dumps({**key, "model_sha256": self.metrics["model_sha256"]}))
        blob = _read(path)
        if blob is not None and blob.get("key") == key and "value" in blob:
            return blob["value"]
        value = compute()
        write_json({"key": key, "value": value}, path)
        return value

    def update_metrics(self, **figures) -> dict:
        """Add entries to metrics.json, atomically."""
        metrics = self.metrics
        metrics.update(figures)
        write_json(metrics, self.folder / "metrics.json")
        return metrics


class RunStore:
    def __init__(self, root=None, data_root=None):
        self.root = Path(root).resolve() if root else default_root()
        if self.root.exists() and not self.root.is_dir():
            raise ValueError(f"the run store {self.root} is a file, not a folder: give a folder with --runs "
                             f"or FRAGLIB_RUNS")
        self.data_root = data_root

    def folder(self, config: RunConfig) -> Path:
        return self.root / config.key()

    def _records(self, config: RunConfig):
        """(config ok, metrics, history, model.pt's sha256), each verified (None where not)."""
        folder = self.folder(config)
        saved = _read(folder / "config.json")
        return (saved is not None and saved.get("config") == config.to_dict(), _read(folder / "metrics.json"),
                _read(folder / "history.json"), _sha(folder / "model.pt"))

    def is_complete(self, config: RunConfig) -> bool:
        same, metrics, history, model = self._records(config)
        return (same and metrics is not None and history is not None and model is not None
                and metrics.get("model_sha256") == model == history.get("summary", {}).get("model_sha256"))

    def _repair(self, config: RunConfig, device=None, progress: bool = True) -> bool:
        """Redo what is damaged from what is not, without training: history.json from metrics.json,
        metrics.json from history.json and the model. True when the run is complete after it."""
        folder = self.folder(config)
        same, metrics, history, model = self._records(config)
        if not same or model is None:
            return False
        if metrics is not None and metrics.get("model_sha256") == model and history is None:
            summary = {k: metrics[k] for k in SUMMARY if k in metrics}
            write_json({"epochs": metrics["history"], "summary": summary}, folder / "history.json")
            if progress:
                print(f"history.json of {config.label()} was damaged: written again from metrics.json")
        elif history is not None and history.get("summary", {}).get("model_sha256") == model and (
                metrics is None or metrics.get("model_sha256") != model):
            data = make_run_data(config, self.data_root)
            net = new_model(config, data)
            net.load_state_dict(torch.load(folder / "model.pt", map_location="cpu", weights_only=True))
            rebuilt = {**history["summary"], **evaluate(net, data, device), "history": history["epochs"]}
            if _embeddings_intact(folder / "embeddings.npz"):
                rebuilt["embeddings_sha256"] = sha256(folder / "embeddings.npz")
            write_json(rebuilt, folder / "metrics.json")
            if progress:
                print(f"metrics.json of {config.label()} was damaged: rebuilt from history.json and the model")
        return self.is_complete(config)

    def get(self, config: RunConfig, train_if_missing: bool = True, progress: bool = True,
            device=None, stop_after_epoch=None) -> Run:
        """The stored run for `config`; repairs what is damaged, trains (or resumes training) only
        when the model itself is missing or damaged."""
        folder = self.folder(config)
        _tidy(folder)
        if not self.is_complete(config):
            if not train_if_missing:
                raise LookupError(f"no complete run for {config.label()} in {folder}")
            folder.mkdir(parents=True, exist_ok=True)
            with locked(folder, f"the run {config.label()}"):
                # another process may have finished it meanwhile, or only a record is damaged
                if not self.is_complete(config) and not self._repair(config, device, progress):
                    self._train(config, folder, progress, device, stop_after_epoch)
        return Run(folder, config, self.data_root)

    def _train(self, config, folder, progress, device, stop_after_epoch):
        config_file = folder / "config.json"
        saved = _read(config_file)
        same = saved is not None and saved.get("config") == config.to_dict()
        for name in ("metrics.json", "model.pt", "history.json", "embeddings.npz"):
            (folder / name).unlink(missing_ok=True)  # an incomplete run's results are not trusted
        if not same:  # foreign or damaged folder: nothing in it can be resumed
            (folder / "checkpoint.pt").unlink(missing_ok=True)
            write_json({"config": config.to_dict(), "fraglib_version": __version__}, config_file)
        if progress:
            print(f"training {config.label()} -> {folder}")
        data = make_run_data(config, self.data_root)
        result = train(config, data, folder / "checkpoint.pt", device=device, progress=progress,
                       stop_after_epoch=stop_after_epoch)
        model = new_model(config, data)
        model.load_state_dict(result.best_state)
        summary = {
            "best_epoch": result.best_epoch,
            f"best_{config.selection}_bac": result.best_bac,
            "selection": config.selection,
            "train_seconds": result.seconds,
            "images_per_second": result.images_per_second,
            "device": str(pick_device(device)),
            "host": socket.gethostname(),
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "fraglib_version": __version__,
            "torch_version": torch.__version__,
            "model_sha256": atomic_torch_save(result.best_state, folder / "model.pt"),
        }
        write_json({"epochs": result.history, "summary": summary}, folder / "history.json")
        metrics = {**summary, **evaluate(model, data, device), "history": result.history}
        write_json(metrics, folder / "metrics.json")  # last: marks the run complete
        (folder / "checkpoint.pt").unlink(missing_ok=True)

    def runs(self) -> list[Run]:
        """Every complete run in the store."""
        out = []
        for cfg_file in sorted(self.root.glob("**/config.json")):
            saved = _read(cfg_file)
            try:
                config = RunConfig.from_dict(saved["config"])
            except (ValueError, KeyError, TypeError):
                continue
            if self.folder(config) == cfg_file.parent and self.is_complete(config):
                out.append(Run(cfg_file.parent, config, self.data_root))
        return out

    def remove(self, config: RunConfig) -> None:
        shutil.rmtree(self.folder(config), ignore_errors=True)


# the training's facts, kept in history.json so that a damaged metrics.json can be rebuilt
SUMMARY = ("best_epoch", "best_val_bac", "best_test_bac", "selection", "train_seconds", "images_per_second",
           "device", "host", "finished", "fraglib_version", "torch_version", "model_sha256")


def _tidy(folder: Path) -> None:
    """Remove what a killed writer left in a run folder, if no other process is writing there."""
    if not folder.is_dir():
        return
    lock = FileLock(str(folder / ".lock"))
    try:
        lock.acquire(timeout=0)
    except (Timeout, OSError):
        return
    try:
        clean_temporaries(folder)
        clean_temporaries(folder / "derived")
    finally:
        lock.release()


def _embeddings_intact(path: Path) -> bool:
    """Whether an embeddings file reads whole (every array's zip CRC checked)."""
    import numpy as np
    try:
        with np.load(path) as z:
            for name in z.files:
                z[name]
        return True
    except Exception:
        return False
