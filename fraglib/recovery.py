"""Recovery of a stored run: nothing that can be verified is thrown away.

What the run store (`runs.py`) does with a run folder that is not complete: records of the
release before digests adopted, a damaged config.json rebuilt, history.json from metrics.json,
metrics.json from history.json and the model, a run of another version of the network's code
checked against today's (its weights must give the test BAC recorded at training), a folder of
another run moved aside, never deleted. Each function says why a run must be trained when it
cannot be recovered (which file, and what is wrong with it).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path

import torch

from . import __version__
from .config import RunConfig
from .data import RunData, make_run_data
from .fileio import Damaged, read_json, sha256, write_json
from .train import evaluate, network_fingerprint, new_model


def read_record(path: Path) -> dict | None:
    """A verified JSON record, or None where it is missing or damaged."""
    try:
        return read_json(path)
    except (OSError, Damaged):
        return None


def file_sha(path: Path) -> str | None:
    try:
        return sha256(path)
    except OSError:
        return None


def records(folder: Path, config: RunConfig):
    """(config ok, metrics, history, model.pt's sha256), each verified (None where not)."""
    saved = read_record(folder / "config.json")
    return (saved is not None and saved.get("config") == config.to_dict(), read_record(folder / "metrics.json"),
            read_record(folder / "history.json"), file_sha(folder / "model.pt"))


def records_agree(folder: Path, config: RunConfig, on_todays_network: bool = False) -> bool:
    same, metrics, history, model = records(folder, config)
    return (same and metrics is not None and history is not None and model is not None
            and metrics.get("model_sha256") == model == history.get("summary", {}).get("model_sha256")
            and (not on_todays_network or metrics.get("network") == network_fingerprint(config)))


def recover(folder: Path, config: RunConfig, data_root=None, device=None, progress: bool = True) -> str | None:
    """Make the run complete from what its files still vouch for, without training: records
    of the release before digests adopted, a damaged config.json rebuilt, history.json from
    metrics.json, metrics.json from history.json and the model; then a run of another version of the
    network's code checked against today's (`_check_network`). None when the run is complete
    after it; otherwise why it must be trained (which file, and what is wrong with it)."""
    say = print if progress else (lambda *a, **k: None)
    why = repair(folder, config, data_root, device, say)
    return why if why is not None else check_network(folder, config, data_root, device, say)


def repair(folder: Path, config: RunConfig, data_root, device, say) -> str | None:
    """The records made whole and consistent (see `_recover`); None, or why not."""
    if adopt_legacy(folder, config):
        say(f"adopted {config.label()}: written by fraglib before digests, its model.pt matches the "
            f"sha256 its metrics.json records (records re-written with digests)")
        return None
    same, metrics, history, model = records(folder, config)
    if model is None:
        return "model.pt is missing" if not (folder / "model.pt").exists() else "model.pt is unreadable"
    vouched = [r for r in (metrics, history) if r is not None and summary_of(r).get("model_sha256") == model]
    if not vouched:
        if metrics is None and history is None:
            return "metrics.json and history.json are both missing or damaged: nothing vouches for model.pt"
        return "model.pt does not match the sha256 its metrics.json and history.json record (damaged)"
    if not same:
        saved = read_record(folder / "config.json")
        recorded = {summary_of(r).get("config_digest") for r in vouched} - {None}
        if recorded and recorded != {config.digest()}:
            return set_aside(folder, "its records name another configuration")
        if saved is not None and isinstance(saved.get("config"), dict) and not recorded:
            return set_aside(folder, "config.json names another configuration")
        write_json({"config": config.to_dict(), "fraglib_version": __version__}, folder / "config.json")
        vouch = "the configuration digest its records hold" if recorded else "the folder's name"
        say(f"config.json of {config.label()} was damaged: written again ({vouch} and the model's "
            f"sha256 vouch for the run)")
    if metrics is not None and metrics.get("model_sha256") == model and history is None:
        summary = {k: metrics[k] for k in SUMMARY if k in metrics}
        write_json({"epochs": metrics["history"], "summary": summary}, folder / "history.json")
        say(f"history.json of {config.label()} was damaged: written again from metrics.json")
    elif history is not None and summary_of(history).get("model_sha256") == model and (
            metrics is None or metrics.get("model_sha256") != model):
        if history["summary"].get("network") != network_fingerprint(config):
            # the test BAC recorded at training, which the network check needs, is lost with it
            return set_aside(folder, "metrics.json is damaged, and history.json names another version of "
                             "the network (or none): nothing can check that model.pt fits today's "
                             "network", "unchecked")
        data = make_run_data(config, data_root)
        net = stored_net(folder, config, data)
        rebuilt = {**history["summary"], **evaluate(net, data, device), "history": history["epochs"]}
        if embeddings_intact(folder / "embeddings.npz"):
            rebuilt["embeddings_sha256"] = sha256(folder / "embeddings.npz")
        write_json(rebuilt, folder / "metrics.json")
        say(f"metrics.json of {config.label()} was damaged: rebuilt from history.json and the model")
    return None if records_agree(folder, config) else "its records disagree with each other"


def check_network(folder: Path, config: RunConfig, data_root, device, say) -> str | None:
    """A run trained by another version of the network's code (or before runs recorded it):
    kept, with today's fingerprint, when its weights fit today's network and give the test BAC
    recorded at training; otherwise moved aside (why returned)."""
    metrics, today = read_json(folder / "metrics.json"), network_fingerprint(config)
    if metrics.get("network") == today:
        return None
    data = make_run_data(config, data_root)
    try:
        net = stored_net(folder, config, data)
    except RuntimeError as e:
        return set_aside(folder, f"model.pt does not fit today's network (models.py changed since it was "
                         f"trained: {str(e).splitlines()[0][:100]})", "other-network")
    bac = evaluate(net, data, device, only=("test",))["test_bac"]
    if abs(bac - metrics["test_bac"]) > NETWORK_TOLERANCE:
        return set_aside(folder, f"trained by another version of the network (models.py changed since): "
                         f"its weights give test BAC {bac:.4f} today, {metrics['test_bac']:.4f} "
                         f"when trained", "other-network")
    history = read_json(folder / "history.json")
    history["summary"]["network"] = today
    write_json(history, folder / "history.json")
    metrics["network"] = today
    write_json(metrics, folder / "metrics.json")
    say(f"checked {config.label()} against today's network: its weights give the test BAC recorded when it "
        f"was trained ({bac:.4f}); kept")
    return None


def set_aside(folder: Path, why: str, tag: str = "foreign") -> str:
    """Move the files of a folder that holds another run out of the way (never deleted);
    return the reason to train, naming where they went."""
    aside = folder.with_name(f"{folder.name}.{tag}-{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}")
    aside.mkdir()
    for p in folder.iterdir():
        if not p.name.startswith(".lock"):
            p.rename(aside / p.name)
    return f"{why}: its files were moved, not deleted, to {aside.name}"


# the training's facts, kept in history.json so that a damaged metrics.json can be rebuilt
SUMMARY = ("best_epoch", "best_val_bac", "best_test_bac", "selection", "train_seconds", "images_per_second",
           "device", "host", "finished", "fraglib_version", "torch_version", "config_digest", "network",
           "model_sha256")
# a run's weights in today's network must give the test BAC recorded at training to within this
# (the same weights on another thread count or CPU kind flip a few test images; a changed network
# moves it by points)
NETWORK_TOLERANCE = 0.002


def stored_net(folder: Path, config: RunConfig, data: RunData):
    """model.pt's weights in today's network for `config`, on the CPU (RuntimeError when they do
    not fit it); whoever calls it has checked model.pt against its records."""
    net = new_model(config, data)
    net.load_state_dict(torch.load(folder / "model.pt", map_location="cpu", weights_only=True))
    return net


def summary_of(record: dict) -> dict:
    """The training's facts of a verified record: history.json keeps them under "summary",
    metrics.json at its top level."""
    return record.get("summary", {}) if "epochs" in record else record


def plain_json(path: Path):
    """A JSON file as written by fraglib before digests (no `_sha256`), or None."""
    try:
        obj = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return None if isinstance(obj, dict) and "_sha256" in obj else obj


def adopt_legacy(folder: Path, config: RunConfig) -> bool:
    """A run written by the release before digests (same folder key; plain JSON records, history
    a list, metrics.json holding model.pt's sha256): adopted when its config matches and its
    model.pt matches that sha256; its records (and derived analyses) re-written with digests."""
    saved, metrics, history = (plain_json(folder / n) for n in ("config.json", "metrics.json", "history.json"))
    if not (isinstance(saved, dict) and saved.get("config") == config.to_dict() and isinstance(metrics, dict)
            and isinstance(history, list) and "model_sha256" in metrics):
        return False
    if file_sha(folder / "model.pt") != metrics["model_sha256"]:
        return False
    summary = {k: metrics[k] for k in SUMMARY if k in metrics}
    write_json({"epochs": history, "summary": summary}, folder / "history.json")
    write_json({**metrics, "history": history}, folder / "metrics.json")
    for blob in sorted((folder / "derived").glob("*.json")):
        old = plain_json(blob)
        if isinstance(old, dict) and {"key", "value"} <= set(old):
            write_json(old, blob)
    write_json(saved, folder / "config.json")
    return True


def embeddings_intact(path: Path) -> bool:
    """Whether an embeddings file reads whole (every array's zip CRC checked)."""
    import numpy as np
    try:
        with np.load(path) as z:
            for name in z.files:
                z[name]
        return True
    except Exception:
        return False
