"""The run store: one folder per configuration; asking for a stored run loads it.

    runs/<dataset>/<profile>/<ratio>/loss=<loss>/seed=<seed>-<hash>/
        config.json       the full RunConfig (and the fraglib version that trained it)
        checkpoint.pt     while training: last epoch's state, for resume (removed when done)
        model.pt          the chosen epoch's weights (a plain torch file)
        history.json      one entry per epoch, and the training's summary (with model.pt's sha256)
        metrics.json      BAC, per-class accuracy, timing, the history again; written last, with
                          the sha256 of model.pt and of embeddings.npz
        embeddings.npz    fe / logits / W / b (written as training ends, see embed.py; again after
                          an edit to the code that extracts them); metrics.json's accuracies are
                          read from its logits
        model-<rule>.pt, embeddings-<rule>.npz / .json
                          the epochs the other model-selection rules pick (test-best, last), where
                          they differ from the chosen one (the multiverse's `selection`)
        embeddings.json   their sha256, the digest of the code that extracted them and the model's
                          sha256 (a damaged metrics.json is rebuilt without extracting them again)
        derived/<name>.json   analyses that cost time (RQ1's re-trained head, EOS), keyed (by
                          their options and the code that computes them)
    runs/.multiverse/<question>/<study>-seeds<n>.json
                          a study's multiverse rows (every claim, seed, specification and selection
                          rule), keyed by fraglib's source and every run's weights and embeddings
                          (`Study.multiverse`): the summary and a re-run page read them

Nothing is trusted unverified (fileio.py): the JSON files carry a digest of their content, the
checkpoint a digest header, model.pt and embeddings.npz are checked against the sha256 that
metrics.json records. A run is complete only when all of them verify and name the same config.
A run also records the fingerprint of the network that trained it (`models.fingerprint`: its
structure and its classes' code): weights are only handed out for today's network. A run whose
network has changed since is checked, neither trusted nor discarded: its weights go into today's
network and must give every figure recorded when it was trained (`recovery.py`); then its
fingerprint is updated and it is kept, otherwise its files are moved aside and it is trained again.
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

from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from . import __version__
from .config import RunConfig
from .embed import Embeddings, extract, extract_full
from . import recovery
from .multiverse import SELECTION
from .fileio import Damaged, atomic_torch_save, clean_temporaries, file_stamp, read_json, sha256_once, write_json
from .netid import network_fingerprint
from .provenance import source_digest

if TYPE_CHECKING:
    from .data import RunData
# torch, the data and the training code are imported where a run is trained, evaluated or has its
# embeddings extracted, not above: a book whose runs and analyses are all stored reads them without
# torch (2.5-4 s of every command and page kernel; `netid`)

NETWORK_TAG = ".net-"   # a run folder's name: <config key>.net-<the network's fingerprint>
NETWORK_CHARS = 12


def default_root() -> Path:
    """Run store: $FRAGLIB_RUNS, else `runs/` beside the package's source checkout; resolved
    once, here, so that a relative path means the same folder to every process."""
    env = os.environ.get("FRAGLIB_RUNS")
    return (Path(env) if env else Path(__file__).resolve().parents[1] / "runs").resolve()


@contextmanager
def locked(folder: Path, what: str, poll: float = 5.0):
    """Hold the folder's lock; while another process holds it, say once which run it is and who
    holds it. Temporary files a killed writer left behind are removed (`_tidy`)."""
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
        _tidy(folder)
        yield
    finally:
        owner.unlink(missing_ok=True)
        lock.release()


class Run:
    """A complete run in the store. Reads are lazy; nothing here trains."""

    DERIVED = "derived"      # where its derived analyses go

    def __init__(self, folder: Path, config: RunConfig, data_root=None):
        self.folder, self.config, self._data_root = Path(folder), config, data_root

    @property
    def selection(self) -> str:
        """The model-selection rule that chose this run's epoch (the multiverse's `selection`)."""
        return own_rule(self.config)

    def at(self, selection: str) -> "Run":
        """This run under another model-selection rule (`SELECTION_RULES`): the epoch that rule picks
        in the same selection window, recorded when the run was trained (`selections` in
        metrics.json); this run itself where that epoch is the chosen one. LookupError where the
        run did not record it (trained before the book kept it, or under the paper's protocol, which
        has no validation split)."""
        if selection not in SELECTION_RULES:
            raise ValueError(f"selection = {selection!r}: valid values: {', '.join(SELECTION_RULES)}")
        if selection == self.selection:
            return self
        info = self.metrics.get("selections", {}).get(selection)
        if info is None:
            raise LookupError(f"{self.config.label()} recorded no {selection} epoch (trained before runs kept it, "
                              f"or under another protocol): train it again to read it")
        return self if info["model"] == "model.pt" else AtEpoch(self, selection, info)

    def __repr__(self):
        return f"Run({self.config.label()!r}, {self.folder})"

    @property
    def metrics(self) -> dict:
        """metrics.json, verified (a damaged one is an error: `RunStore.get` repairs it); read and
        verified once while it stays the same file (`fileio.file_stamp`), a copy handed out each time."""
        path = self.folder / "metrics.json"
        stamp = file_stamp(path)
        if self.__dict__.get("_metrics_stamp") != stamp:
            self._metrics, self._metrics_stamp = read_json(path), stamp
        return dict(self._metrics)

    @property
    def history(self) -> list:
        """One entry per epoch (from metrics.json, which keeps a verified copy)."""
        return self.metrics["history"]

    @cached_property
    def data(self) -> RunData:
        from .data import make_run_data
        return make_run_data(self.config, self._data_root)

    def model(self, device=None):
        path = self.folder / "model.pt"
        if recovery.file_sha(path) != self.metrics["model_sha256"]:
            raise Damaged(path, "does not match the sha256 in metrics.json: ask the store for the run "
                                "again (RunStore.get) to retrain it")
        from .device import pick_device
        return recovery.stored_net(self.folder, self.config, self.data).to(pick_device(device)).eval()

    def _embeddings_ok(self) -> bool:
        path, metrics = self.folder / "embeddings.npz", self.metrics
        return (path.exists() and metrics.get("embeddings_sha256") == sha256_once(path)
                and metrics.get("embeddings_code") == source_digest("embed"))

    def embeddings(self, device=None, full: bool = False) -> Embeddings:
        """fe / logits / W / b of this run (extracted into embeddings.npz as training ends, and again
        when the file is damaged or the code that extracts them has changed since). The chosen
        epoch's hold the full balanced set (fe_full) always; `full` asks for it where it is kept
        apart (`AtEpoch`)."""
        self.current_embeddings(device)
        return Embeddings.load(self.embeddings_file())

    def embeddings_file(self) -> Path:
        """Where this run's embeddings are (embeddings.npz; a run at another epoch, its own)."""
        return self.folder / "embeddings.npz"

    def current_embeddings(self, device=None) -> str:
        """Bring embeddings.npz up to date (as `embeddings` does) without loading it; its sha256."""
        if not self._embeddings_ok():
            with locked(self.folder, f"the embeddings of {self.config.label()}"):
                if not self._embeddings_ok():
                    # the stamp in embeddings.json survives a damaged metrics.json
                    digest = extract_stamped(self.model(device), self.data, self.folder / "embeddings.npz",
                                             self.folder / "embeddings.json", self.metrics["model_sha256"], device)
                    self.update_metrics(embeddings_sha256=digest, embeddings_code=source_digest("embed"))
        return self.metrics["embeddings_sha256"]

    def derived(self, name: str, key: dict, compute):
        """A derived analysis of this run, computed once into derived/<name>.json.

        The file stores `key` (with this run's model digest) beside the value; a file made for
        another key, or damaged, is computed again. Written atomically, so two processes at
        worst compute the same value twice, and a half-written file is never read."""
        path = self.folder / self.DERIVED / f"{name}.json"
        key = json.loads(json.dumps({**key, "model_sha256": self.model_sha256()}))
        blob = recovery.read_record(path)
        if blob is not None and blob.get("key") == key and "value" in blob:
            return blob["value"]
        value = compute()
        write_json({"key": key, "value": value}, path)
        return value

    def model_sha256(self) -> str:
        """The sha256 of the weights this run reads (model.pt's, recorded in metrics.json)."""
        return self.metrics["model_sha256"]

    def update_metrics(self, **figures) -> dict:
        """Add entries to metrics.json, atomically."""
        metrics = self.metrics
        metrics.update(figures)
        write_json(metrics, self.folder / "metrics.json")
        return metrics


def extract_stamped(model, data: RunData, npz: Path, stamp: Path, model_sha256: str, device=None,
                    full: bool = True, only_full: bool = False) -> str:
    """Extract a network's embeddings into `npz` and stamp them in `stamp` (their sha256, the digest
    of the code that extracted them and the sha256 of the weights they come from); their sha256.
    `full=False`: the full balanced set left out (`embed.extract`); `only_full`: it alone (`extract_full`)."""
    digest = extract_full(model, data, npz, device) if only_full else extract(model, data, npz, device, full=full)
    write_json({"embeddings_sha256": digest, "embeddings_code": source_digest("embed"),
                "model_sha256": model_sha256}, stamp)
    return digest


def rule_embeddings(folder: Path, rule: str, part: str = "") -> tuple[Path, Path]:
    """The embeddings of a run's epoch under another selection rule, and their stamp (`part="full"`:
    its full balanced set's, kept apart: `AtEpoch.embeddings`)."""
    name = f"embeddings-{rule}" + (f"-{part}" if part else "")
    return folder / f"{name}.npz", folder / f"{name}.json"


SELECTION_RULES = SELECTION.values   # the model-selection rules (the multiverse's `selection`), the default first


def own_rule(config: RunConfig) -> str:
    """The rule that chose a run's epoch: validation-best, or test-best under the paper's protocol."""
    return "validation-best" if config.selection == "val" else "test-best"


class AtEpoch(Run):
    """A run at the epoch another model-selection rule picks: its weights (model-<rule>.pt, checked
    against the sha256 recorded at training), its embeddings (embeddings-<rule>.npz, extracted as
    training ends, again where missing or stale, and stamped in embeddings-<rule>.json; without the
    full balanced set, which only RQ1's re-trained head reads: embeddings-<rule>-full.npz, extracted
    when first asked for), its derived analyses (derived/<rule>/), and its metrics: the run's, with
    the model's digest and the accuracies of that epoch's own predictions (clean training images
    and the test set, from its embeddings)."""

    def __init__(self, run: Run, selection: str, info: dict):
        super().__init__(run.folder, run.config, run._data_root)
        self._base, self._rule, self._info = run, selection, info
        self._files = info.get("same_as", selection)   # the rule whose files hold this epoch (`_selections`)
        self.DERIVED = f"derived/{self._files}"

    def __repr__(self):
        return f"Run({self.config.label()!r} at its {self._rule} epoch {self._info['epoch'] + 1}, {self.folder})"

    @property
    def selection(self) -> str:
        return self._rule

    @cached_property
    def metrics(self) -> dict:
        import numpy as np
        from .measures import balanced_accuracy, per_class_accuracy
        digest = self.current_embeddings()
        e = Embeddings.load(self.embeddings_file())
        C = e.num_classes
        pred_train, pred_test = e.logits_train.argmax(1), e.logits_test.argmax(1)
        return {**self._base.metrics, "model_sha256": self._info["model_sha256"], "best_epoch": self._info["epoch"],
                "selection_rule": self._rule, "embeddings_sha256": digest,
                "train_bac": balanced_accuracy(e.y_train, pred_train, C),
                "train_class_acc": per_class_accuracy(e.y_train, pred_train, C).tolist(),
                "test_bac": balanced_accuracy(e.y_test, pred_test, C),
                "test_class_acc": per_class_accuracy(e.y_test, pred_test, C).tolist(),
                "train_counts": np.bincount(e.y_train, minlength=C).tolist()}

    def model(self, device=None):
        path = self.folder / self._info["model"]
        if recovery.file_sha(path) != self._info["model_sha256"]:
            raise Damaged(path, f"does not match the sha256 recorded for the {self._rule} epoch: train the run again "
                                f"to read it under that rule")
        from .device import pick_device
        return recovery.stored_net(self.folder, self.config, self.data, self._info["model"]).to(pick_device(device)).eval()

    def model_sha256(self) -> str:
        return self._info["model_sha256"]

    def embeddings_file(self) -> Path:
        return rule_embeddings(self.folder, self._files)[0]

    def _stamp(self) -> Path:
        return rule_embeddings(self.folder, self._files)[1]

    def _part_ok(self, path: Path, stamp: Path) -> bool:
        saved = recovery.read_record(stamp)
        return (path.exists() and saved is not None and saved.get("embeddings_sha256") == sha256_once(path)
                and saved.get("embeddings_code") == source_digest("embed")
                and saved.get("model_sha256") == self._info["model_sha256"])

    def _embeddings_ok(self) -> bool:
        return self._part_ok(self.embeddings_file(), self._stamp())

    def current_embeddings(self, device=None) -> str:
        path, stamp = self.embeddings_file(), self._stamp()
        if not self._embeddings_ok():
            with locked(self.folder, f"the {self._rule} embeddings of {self.config.label()}"):
                if not self._embeddings_ok():
                    extract_stamped(self.model(device), self.data, path, stamp, self._info["model_sha256"], device,
                                    full=False)
        return recovery.read_record(stamp)["embeddings_sha256"]

    def embeddings(self, device=None, full: bool = False) -> Embeddings:
        """`Run.embeddings` at this epoch; with `full`, its full balanced set too (kept apart in
        embeddings-<rule>-full.npz where the main file has none: extracted the first time it is asked
        for, again where damaged or stale, stamped like the main file)."""
        e = super().embeddings(device)
        if not full or e.fe_full is not None:
            return e
        path, stamp = rule_embeddings(self.folder, self._files, "full")
        if not self._part_ok(path, stamp):
            with locked(self.folder, f"the {self._rule} full-set embeddings of {self.config.label()}"):
                if not self._part_ok(path, stamp):
                    extract_stamped(self.model(device), self.data, path, stamp, self._info["model_sha256"], device,
                                    only_full=True)
        return e.with_full(path)

    def update_metrics(self, **figures) -> dict:
        raise TypeError("a run at another selection's epoch has no metrics.json of its own")


class RunStore:
    def __init__(self, root=None, data_root=None):
        self.root = Path(root).resolve() if root else default_root()
        if self.root.exists() and not self.root.is_dir():
            raise ValueError(f"the run store {self.root} is a file, not a folder: give a folder with --runs "
                             f"or FRAGLIB_RUNS")
        self.data_root = data_root

    def folder(self, config: RunConfig) -> Path:
        """The run's folder for today's network: its config's key and its network's fingerprint
        (`<key>.net-<fingerprint>`), so that two versions of the network (two checkouts on one
        store) each find their own run and neither sets the other's aside."""
        return self.root / f"{config.key()}{NETWORK_TAG}{network_fingerprint(config)[:NETWORK_CHARS]}"

    def elsewhere(self, config: RunConfig) -> list[Path]:
        """Folders that may hold this config's run trained by another version of the network: the
        release before network folders (the key alone), and every other network's folder."""
        base, own = self.root / config.key(), self.folder(config)
        if not base.parent.is_dir():
            return []
        others = [p for p in base.parent.glob(f"{base.name}{NETWORK_TAG}*") if p != own and p.is_dir()]
        return ([base] if base.is_dir() else []) + sorted(others, key=lambda p: -p.stat().st_mtime)

    def is_complete(self, config: RunConfig) -> bool:
        """Every record verifies, they name the same model, and that model was trained (or has
        been checked) on today's network."""
        return recovery.records_agree(self.folder(config), config, on_todays_network=True)

    def get(self, config: RunConfig, train_if_missing: bool = True, progress: bool = True,
            device=None, stop_after_epoch=None) -> Run:
        """The stored run for `config`; recovers what can be verified (`_recover`), and trains (or
        resumes training) only when the model itself cannot be, saying which file and why."""
        folder = self.folder(config)
        _tidy(folder)
        if not self.is_complete(config):
            if not train_if_missing:
                raise LookupError(f"no complete run for {config.label()} in {folder}")
            folder.mkdir(parents=True, exist_ok=True)
            with locked(folder, f"the run {config.label()}"):
                # another process may have finished it meanwhile, or only a record is damaged
                if not self.is_complete(config):
                    why = self._recover(config, device, progress)
                    if why is not None:
                        why = self._adopt(config, device, progress, why)
                    if why is not None:
                        self._train(config, folder, progress, device, stop_after_epoch, why)
        return Run(folder, config, self.data_root)

    def _adopt(self, config: RunConfig, device, progress: bool, why: str) -> str | None:
        """The run of this config trained by another version of the network (`elsewhere`), when
        its weights in today's network give every figure it recorded (`recovery.check_network`):
        linked into today's folder (hard links where the file system allows, nothing copied twice)
        and stamped with today's network; the other network's folder is left as it was, so that its
        own code finds it again. None when adopted; else why the run must be trained."""
        folder = self.folder(config)
        for other in self.elsewhere(config):
            if not recovery.records_agree(other, config):
                continue
            recovery.link_records(other, folder)
            found = recovery.check_network(folder, config, self.data_root, device,
                                           print if progress else (lambda *a, **k: None), keep_aside=False)
            if found is None:
                (folder / "checkpoint.pt").unlink(missing_ok=True)   # nothing left to train
                return None
            recovery.unlink_records(folder)
        return why

    def _recover(self, config: RunConfig, device=None, progress: bool = True) -> str | None:
        """Make the run complete from what its files still vouch for, without training
        (`recovery.recover`); None, or why it must be trained."""
        return recovery.recover(self.folder(config), config, self.data_root, device, progress)

    def _train(self, config, folder, progress, device, stop_after_epoch, why: str = "not in the store"):
        config_file = folder / "config.json"
        saved = recovery.read_record(config_file)
        same = saved is not None and saved.get("config") == config.to_dict()
        for name in ("metrics.json", "model.pt", "history.json", "embeddings.npz", "embeddings.json"):
            (folder / name).unlink(missing_ok=True)  # an incomplete run's results are not trusted
        if not same:  # foreign or damaged folder: nothing in it can be resumed
            (folder / "checkpoint.pt").unlink(missing_ok=True)
            write_json({"config": config.to_dict(), "fraglib_version": __version__}, config_file)
        if progress:
            resume = ", resuming from its checkpoint" if (folder / "checkpoint.pt").exists() else ""
            print(f"training {config.label()} ({why}{resume}) -> {folder}")
        import torch
        from .data import make_run_data
        from .device import pick_device
        from .train import new_model, train
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
            "config_digest": config.digest(),
            "network": network_fingerprint(config),
            "model_sha256": atomic_torch_save(result.best_state, folder / "model.pt"),
        }
        summary["selections"] = _selections(config, result, folder)
        write_json({"epochs": result.history, "summary": summary}, folder / "history.json")
        metrics = {**summary, **_embed_and_score(config, data, result, summary, folder, model, device),
                   "history": result.history}
        write_json(metrics, folder / "metrics.json")  # last: marks the run complete
        (folder / "checkpoint.pt").unlink(missing_ok=True)

    def runs(self) -> list[Run]:
        """Every complete run in the store."""
        out = []
        for cfg_file in sorted(self.root.glob("**/config.json")):
            saved = recovery.read_record(cfg_file)
            try:
                config = RunConfig.from_dict(saved["config"])
            except (ValueError, KeyError, TypeError):
                continue
            if self.folder(config) == cfg_file.parent and self.is_complete(config):
                out.append(Run(cfg_file.parent, config, self.data_root))
        return out

    def remove(self, config: RunConfig) -> None:
        shutil.rmtree(self.folder(config), ignore_errors=True)


def _embed_and_score(config: RunConfig, data: RunData, result, summary: dict, folder: Path, model, device) -> dict:
    """The embeddings of every selection rule's epoch, extracted as training ends (every page reads
    them; a Slurm task or a pool worker does it beside the training), and the chosen epoch's
    accuracies (`train.evaluate`'s figures) from its embeddings' logits: the same fp32 predictions,
    without a second pass over the training and test sets. Returns those figures and the
    embeddings' stamp, for metrics.json."""
    from .train import evaluate, new_model, scores
    for rule, (_, state) in result.alternatives.items():
        if state is not None and "same_as" not in summary["selections"][rule]:   # an epoch of its own
            net = new_model(config, data)
            net.load_state_dict(state)
            extract_stamped(net, data, *rule_embeddings(folder, rule), summary["selections"][rule]["model_sha256"],
                            device, full=False)
    npz = folder / "embeddings.npz"
    digest = extract_stamped(model, data, npz, folder / "embeddings.json", summary["model_sha256"], device)
    e, C = Embeddings.load(npz), data.num_classes
    return {**scores("train", e.y_train, e.logits_train.argmax(1), C),
            **scores("test", e.y_test, e.logits_test.argmax(1), C),
            **evaluate(model, data, device, only=("val",)),
            "embeddings_sha256": digest, "embeddings_code": source_digest("embed")}


def _selections(config: RunConfig, result, folder: Path) -> dict:
    """The epoch each model-selection rule picks in the selection window, its test BAC (as the
    training loop measured it, the same precision for every rule) and its weights' file: model.pt
    where it is the chosen epoch, else model-<rule>.pt (saved here); a rule that picks the same
    epoch as another one before it (test-best at the last epoch) reads that rule's files
    (`same_as`: its weights, embeddings and analyses are not made twice)."""
    test_bac = {h["epoch"]: h["test_bac"] for h in result.history if "test_bac" in h}   # the window's epochs
    own = own_rule(config)
    rules = {own: (result.best_epoch, None), **result.alternatives}
    out, saved = {}, {}     # saved: epoch -> the rule whose model-<rule>.pt holds it
    for rule, (epoch, state) in rules.items():
        if state is None:
            entry = {"model": "model.pt", "model_sha256": None}
        elif epoch in saved:
            entry = {k: out[saved[epoch]][k] for k in ("model", "model_sha256")} | {"same_as": saved[epoch]}
        else:
            entry = {"model": f"model-{rule}.pt", "model_sha256": atomic_torch_save(state, folder / f"model-{rule}.pt")}
            saved[epoch] = rule
        out[rule] = {"epoch": epoch, "test_bac": test_bac.get(epoch), **entry}
    return out


def _tidy(folder: Path) -> None:
    """Remove what a killed writer left in a run folder and its derived/ (a live writer's
    temporaries are never touched: `clean_temporaries` checks that their writer is gone)."""
    if folder.is_dir():
        clean_temporaries(folder)
        clean_temporaries(folder / "derived")
