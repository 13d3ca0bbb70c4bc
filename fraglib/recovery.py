"""Recovery of a stored run: nothing that can be verified is thrown away.

What the run store (`runs.py`) does with a run folder that is not complete: records of the
release before digests adopted, a damaged config.json rebuilt, history.json from metrics.json,
metrics.json from history.json and the model, a run of another version of the network's code
checked against today's (its weights must give every figure recorded at training), a folder of
another run moved aside, never deleted. Each function says why a run must be trained when it
cannot be recovered (which file, and what is wrong with it).
"""
from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING

from . import __version__
from .config import RunConfig
from .fileio import Damaged, read_json, sha256, write_json
from .netid import network_fingerprint

if TYPE_CHECKING:
    from .data import RunData


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
    network's code checked against today's (`check_network`). None when the run is complete
    after it; otherwise why it must be trained (which file, and what is wrong with it)."""
    say = print if progress else (lambda *a, **k: None)
    why = repair(folder, config, data_root, device, say)
    return why if why is not None else check_network(folder, config, data_root, device, say)


def repair(folder: Path, config: RunConfig, data_root, device, say) -> str | None:
    """The records made whole and consistent (see `recover`); None, or why not."""
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
        from .data import make_run_data
        from .train import evaluate
        data = make_run_data(config, data_root)
        net = stored_net(folder, config, data)
        rebuilt = {**history["summary"], **evaluate(net, data, device), "history": history["epochs"]}
        stamp = read_record(folder / "embeddings.json") or {}
        npz = folder / "embeddings.npz"
        if (embeddings_intact(npz) and stamp.get("model_sha256") == model
                and stamp.get("embeddings_sha256") == sha256(npz)):   # extracted from this model: kept
            rebuilt.update(embeddings_sha256=stamp["embeddings_sha256"], embeddings_code=stamp["embeddings_code"])
        write_json(rebuilt, folder / "metrics.json")
        say(f"metrics.json of {config.label()} was damaged: rebuilt from history.json and the model")
    return None if records_agree(folder, config) else "its records disagree with each other"


def check_network(folder: Path, config: RunConfig, data_root, device, say, keep_aside: bool = True) -> str | None:
    """A run trained by another version of the network's code (or before runs recorded it):
    kept, with today's fingerprint and today's figures, when its weights fit today's network and
    give every figure recorded at training (`differences`: test and validation BAC, per-class
    accuracy on every split, the selection BAC); otherwise moved aside (`keep_aside`) and why
    returned."""
    metrics, today = read_json(folder / "metrics.json"), network_fingerprint(config)
    if metrics.get("network") == today:
        return None
    aside = (lambda why: set_aside(folder, why, "other-network")) if keep_aside else (lambda why: why)
    from .data import make_run_data
    from .train import evaluate
    data = make_run_data(config, data_root)
    try:
        net = stored_net(folder, config, data)
    except RuntimeError as e:
        return aside(f"model.pt does not fit today's network (models.py changed since it was trained: "
                     f"{str(e).splitlines()[0][:100]})")
    now = evaluate(net, data, device)
    wrong = differences(metrics, now)
    if wrong:
        return aside(f"trained by another version of the network (models.py changed since): its weights give "
                     f"{wrong[0]}" + (f" (and {len(wrong) - 1} more figures)" if len(wrong) > 1 else ""))
    history = read_json(folder / "history.json")
    history["summary"]["network"] = today
    write_json(history, folder / "history.json")
    kept = {k: v for k, v in metrics.items() if not k.startswith("embeddings_")}   # extracted again, by today's net
    write_json({**kept, **now, "network": today}, folder / "metrics.json")
    (folder / "embeddings.json").unlink(missing_ok=True)
    say(f"checked {config.label()} against today's network: its weights give every figure recorded when it "
        f"was trained (test BAC {now['test_bac']:.4f}); kept")
    return None


def differences(recorded: dict, now: dict) -> list[str]:
    """The figures a run recorded at training that its weights no longer give (within
    NETWORK_TOLERANCE of a BAC; per class, within one image or NETWORK_TOLERANCE of its images)."""
    wrong = []
    for split in ("test", "val", "train"):
        key = f"{split}_bac"
        if key in recorded and key in now and abs(recorded[key] - now[key]) > NETWORK_TOLERANCE:
            wrong.append(f"{split} BAC {now[key]:.4f} today, {recorded[key]:.4f} when trained")
        acc, counts = recorded.get(f"{split}_class_acc"), now.get(f"{split}_counts")
        if acc is not None and counts is not None and f"{split}_class_acc" in now:
            for c, (a, b, n) in enumerate(zip(acc, now[f"{split}_class_acc"], counts)):
                if abs(a - b) * n > max(1.0, NETWORK_TOLERANCE * n) + 1e-6:
                    wrong.append(f"{split} accuracy of class {c} {100 * b:.1f}% today, {100 * a:.1f}% when trained")
    selection = recorded.get("selection")
    best = recorded.get(f"best_{selection}_bac")
    if best is not None and f"{selection}_bac" in now and abs(best - now[f"{selection}_bac"]) > NETWORK_TOLERANCE:
        wrong.append(f"best {selection} BAC {now[f'{selection}_bac']:.4f} today, {best:.4f} in its history")
    return wrong


RECORDS = ("config.json", "model.pt", "history.json", "metrics.json")   # what another network's run lends
ALTERNATIVES = "model-*.pt"   # ... with the weights of the epochs other selection rules pick, where it kept them


def link_records(source: Path, folder: Path) -> None:
    """Another folder's run records into `folder` as hard links (a copy where links are not
    possible): every fraglib file is replaced by rename, never written in place, so a link is
    never changed through the other name."""
    import shutil
    folder.mkdir(parents=True, exist_ok=True)
    for name in RECORDS + tuple(sorted(p.name for p in source.glob(ALTERNATIVES))):
        target = folder / name
        target.unlink(missing_ok=True)
        try:
            os.link(source / name, target)
        except OSError:
            shutil.copy2(source / name, target)


def unlink_records(folder: Path) -> None:
    """Remove what `link_records` put there (the other folder keeps its files)."""
    for name in RECORDS + tuple(p.name for p in folder.glob(ALTERNATIVES)):
        (folder / name).unlink(missing_ok=True)


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
# a run's weights in today's network must give each BAC recorded at training to within this, and
# each class's accuracy to within one image or this share of it (the same weights on another
# thread count or CPU kind flip a few images; a changed network moves them by points)
NETWORK_TOLERANCE = 0.002


def stored_net(folder: Path, config: RunConfig, data: RunData, name: str = "model.pt"):
    """The weights in `name` (model.pt, or another selection rule's model-<rule>.pt) in today's
    network for `config`, on the CPU (RuntimeError when they do not fit it); whoever calls it has
    checked the file against its records."""
    import torch
    from .train import new_model
    net = new_model(config, data)
    net.load_state_dict(torch.load(folder / name, map_location="cpu", weights_only=True))
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
