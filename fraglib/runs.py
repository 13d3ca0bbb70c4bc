"""The run store: one folder per configuration; asking for a stored run loads it.

    runs/<dataset>/<profile>/<ratio>/loss=<loss>/seed=<seed>-<hash>/
        config.json       the full RunConfig (and the fraglib version that trained it)
        checkpoint.pt     while training: last epoch's state, for resume (removed when done)
        model.pt          the chosen epoch's weights
        history.json      one entry per epoch
        metrics.json      BAC, per-class accuracy, timing; written last, with model.pt's sha256
        embeddings.npz    fe / logits / W / b (written on first use, see embed.py)
        derived/<name>.json   analyses that cost time (RQ1's re-trained head, EOS), keyed

A run is complete only when metrics.json parses, names the same config, and model.pt's
sha256 matches the one it records; anything else is partial or corrupted and is resumed or
retrained, never loaded. A file lock keeps two processes from training the same run at once.
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import time
from functools import cached_property
from pathlib import Path

import torch
from filelock import FileLock

from . import __version__
from .config import RunConfig
from .data import RunData, make_run_data
from .embed import Embeddings, extract
from .fileio import atomic_torch_save, atomic_write_json, sha256
from .train import evaluate, new_model, pick_device, train

FILES = ("config.json", "model.pt", "history.json", "metrics.json")


def default_root() -> Path:
    """Run store: $FRAGLIB_RUNS, else `runs/` beside the package's source checkout."""
    env = os.environ.get("FRAGLIB_RUNS")
    return Path(env) if env else Path(__file__).resolve().parents[1] / "runs"


class Run:
    """A complete run in the store. Reads are lazy; nothing here trains."""

    def __init__(self, folder: Path, config: RunConfig, data_root=None):
        self.folder, self.config, self._data_root = Path(folder), config, data_root

    def __repr__(self):
        return f"Run({self.config.label()!r}, {self.folder})"

    @property
    def metrics(self) -> dict:
        return json.loads((self.folder / "metrics.json").read_text())

    @property
    def history(self) -> list:
        return json.loads((self.folder / "history.json").read_text())

    @cached_property
    def data(self) -> RunData:
        return make_run_data(self.config, self._data_root)

    def model(self, device=None):
        model = new_model(self.config, self.data)
        model.load_state_dict(torch.load(self.folder / "model.pt", map_location="cpu", weights_only=True))
        return model.to(pick_device(device)).eval()

    def _embeddings_ok(self) -> bool:
        path = self.folder / "embeddings.npz"
        return path.exists() and self.metrics.get("embeddings_sha256") == sha256(path)

    def embeddings(self, device=None) -> Embeddings:
        """fe / logits / W / b of this run (extracted into embeddings.npz on first use)."""
        if not self._embeddings_ok():
            with FileLock(str(self.folder / ".lock")):
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
        try:
            blob = json.loads(path.read_text())
            if blob["key"] == key:
                return blob["value"]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        value = compute()
        atomic_write_json({"key": key, "value": value}, path)
        return value

    def update_metrics(self, **figures) -> dict:
        """Add entries to metrics.json, atomically."""
        metrics = self.metrics
        metrics.update(figures)
        atomic_write_json(metrics, self.folder / "metrics.json")
        return metrics


class RunStore:
    def __init__(self, root=None, data_root=None):
        self.root = Path(root) if root else default_root()
        self.data_root = data_root

    def folder(self, config: RunConfig) -> Path:
        return self.root / config.key()

    def is_complete(self, config: RunConfig) -> bool:
        folder = self.folder(config)
        try:
            saved_config = json.loads((folder / "config.json").read_text())["config"]
            metrics = json.loads((folder / "metrics.json").read_text())
            json.loads((folder / "history.json").read_text())
        except (OSError, ValueError, KeyError):
            return False
        return saved_config == config.to_dict() and metrics.get("model_sha256") == sha256(folder / "model.pt")

    def get(self, config: RunConfig, train_if_missing: bool = True, progress: bool = True,
            device=None, stop_after_epoch=None) -> Run:
        """The stored run for `config`; trains it (or resumes its training) only when missing."""
        folder = self.folder(config)
        if not self.is_complete(config):
            if not train_if_missing:
                raise LookupError(f"no complete run for {config.label()} in {folder}")
            folder.mkdir(parents=True, exist_ok=True)
            with FileLock(str(folder / ".lock")):
                if not self.is_complete(config):  # another process may have finished it meanwhile
                    self._train(config, folder, progress, device, stop_after_epoch)
        return Run(folder, config, self.data_root)

    def _train(self, config, folder, progress, device, stop_after_epoch):
        config_file = folder / "config.json"
        try:
            same = json.loads(config_file.read_text())["config"] == config.to_dict()
        except (OSError, ValueError, KeyError):
            same = False
        for name in ("metrics.json", "model.pt", "history.json", "embeddings.npz"):
            (folder / name).unlink(missing_ok=True)  # an incomplete run's results are not trusted
        if not same:  # foreign or damaged folder: nothing in it can be resumed
            (folder / "checkpoint.pt").unlink(missing_ok=True)
            atomic_write_json({"config": config.to_dict(), "fraglib_version": __version__}, config_file)
        if progress:
            print(f"training {config.label()} -> {folder}")
        data = make_run_data(config, self.data_root)
        result = train(config, data, folder / "checkpoint.pt", device=device, progress=progress,
                       stop_after_epoch=stop_after_epoch)
        model = new_model(config, data)
        model.load_state_dict(result.best_state)
        atomic_torch_save(result.best_state, folder / "model.pt")
        atomic_write_json(result.history, folder / "history.json")
        metrics = {
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
            **evaluate(model, data, device),
            "model_sha256": sha256(folder / "model.pt"),
        }
        atomic_write_json(metrics, folder / "metrics.json")  # last: marks the run complete
        (folder / "checkpoint.pt").unlink(missing_ok=True)

    def runs(self) -> list[Run]:
        """Every complete run in the store."""
        out = []
        for cfg_file in sorted(self.root.glob("**/config.json")):
            try:
                config = RunConfig.from_dict(json.loads(cfg_file.read_text())["config"])
            except (ValueError, KeyError, TypeError):
                continue
            if self.folder(config) == cfg_file.parent and self.is_complete(config):
                out.append(Run(cfg_file.parent, config, self.data_root))
        return out

    def remove(self, config: RunConfig) -> None:
        shutil.rmtree(self.folder(config), ignore_errors=True)
