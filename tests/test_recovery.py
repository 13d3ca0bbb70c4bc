"""recovery.py: nothing that can be verified is thrown away; only what is damaged is redone; a run of
another network's code is checked, not trusted."""
from __future__ import annotations

import json

import pytest
import torch

from fraglib.fileio import (
    Damaged,
    load_verified,
    read_json,
    save_verified,
    sha256,
    write_json,
)
from fraglib.train import Interrupted

from .helpers import no_training, tiny


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


def test_a_run_of_another_networks_code_is_not_handed_out_and_today_trains_its_own(done, monkeypatch, capsys):
    """Probe: seed 0's runs, trained before the quick net's first convolutions were strided, were
    loaded into the strided net by the next build (same parameter shapes) and evaluated as if
    current: one run, two test BACs (70.6 and 73.3) in the same book. Today's network trains its own
    run in its own folder; the other network's run is left where it was (its code finds it again)."""
    store, folder = done
    model, before = sha256(folder / "model.pt"), read_json(folder / "metrics.json")["network"]
    T = _another_stride(monkeypatch)
    try:
        assert not store.is_complete(tiny())                        # not handed out as it stands
        run = store.get(tiny(), progress=True)
        assert "training" in capsys.readouterr().out and run.folder != folder
        assert run.metrics["network"] == T.network_fingerprint(tiny()) != before and store.is_complete(tiny())
        assert sha256(folder / "model.pt") == model and read_json(folder / "metrics.json")["network"] == before
        assert not [p for p in folder.parent.iterdir() if ".other-network-" in p.name]
    finally:
        monkeypatch.undo()
        T._fingerprint.cache_clear()


def test_two_versions_of_the_network_share_one_store_and_nothing_trains_twice(done, monkeypatch, capsys):
    """Probe: two checkouts on one store (main and a branch with an edited network) asking for the
    same run in turn: each ask set the other's run aside and trained again, three times in three
    asks. Now each network's run is found again by its own code."""
    store, folder = done
    ours = read_json(folder / "metrics.json")["model_sha256"]
    with pytest.MonkeyPatch.context() as mp:
        T = _another_stride(mp)
        theirs = store.get(tiny(), progress=False).metrics["model_sha256"]       # the branch trains its own
    T._fingerprint.cache_clear()
    for turn in range(3):                                                        # then each in turn: no training
        with pytest.MonkeyPatch.context() as mp:
            no_training(mp)
            assert store.get(tiny(), progress=False).metrics["model_sha256"] == ours
        with pytest.MonkeyPatch.context() as mp:
            T = _another_stride(mp)
            no_training(mp)
            assert store.get(tiny(), progress=False).metrics["model_sha256"] == theirs
        T._fingerprint.cache_clear()
    assert ours != theirs and not [p for p in folder.parent.iterdir() if "-network-" in p.name or ".unchecked-" in p.name]


def test_an_unchanged_network_under_new_code_is_adopted_not_trained(done, monkeypatch, capsys):
    """A refactor of models.py that changes its code but not its function (a new fingerprint)
    finds the run of the previous code, checks it figure by figure and links it in: not trained."""
    import fraglib.train as T
    store, folder = done
    monkeypatch.setattr(T, "network_fingerprint", lambda config: "refactored-but-the-same-function")
    import fraglib.runs as R
    monkeypatch.setattr(R, "network_fingerprint", T.network_fingerprint)
    monkeypatch.setattr("fraglib.recovery.network_fingerprint", T.network_fingerprint)
    no_training(monkeypatch)
    run = store.get(tiny(), progress=True)
    assert "checked" in capsys.readouterr().out and run.folder != folder
    assert run.metrics["model_sha256"] == read_json(folder / "metrics.json")["model_sha256"]
    assert run.metrics["network"] == "refactored-but-the-same-function" != read_json(folder / "metrics.json")["network"]


def test_a_network_check_compares_every_figure_not_one(done, monkeypatch, capsys):
    """Probe: a run of another network whose recorded test BAC was edited (and re-digested) to what
    today's network gives from its weights was kept, although its validation BAC and per-class
    accuracies disagreed."""
    from fraglib import recovery
    from fraglib.train import evaluate
    store, folder = done
    with pytest.MonkeyPatch.context() as mp:
        T = _another_stride(mp)
        from fraglib.data import make_run_data
        assert not store.is_complete(tiny())
        data = make_run_data(tiny())
        today = evaluate(recovery.stored_net(folder, tiny(), data), data)
        record = read_json(folder / "metrics.json")
        record["test_bac"] = today["test_bac"]                            # the one number a forger fixes
        write_json(record, folder / "metrics.json")
        wrong = recovery.differences(record, today)
        assert wrong and not any(w.startswith("test BAC") for w in wrong)
        again = store.get(tiny(), progress=True)
        assert "training" in capsys.readouterr().out and again.metrics["model_sha256"] != record["model_sha256"]
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
    """Each network trains in its own folder: another network's checkpoint is neither resumed
    nor touched (its own code resumes it)."""
    with pytest.raises(Interrupted):
        store.get(tiny(), progress=False, stop_after_epoch=1)
    theirs = store.folder(tiny()) / "checkpoint.pt"
    before = sha256(theirs)
    T = _another_stride(monkeypatch)
    try:
        with pytest.raises(Interrupted):
            store.get(tiny(), progress=False, stop_after_epoch=2)
        ours = load_verified(store.folder(tiny()) / "checkpoint.pt", weights_only=False)
        assert store.folder(tiny()) != theirs.parent and len(ours["state"]["history"]) == 2
        assert sha256(theirs) == before                      # the other network's checkpoint untouched
        # a checkpoint in this folder written by another network (the release before network folders) restarts
        ours["network"] = "another"
        save_verified(ours, store.folder(tiny()) / "checkpoint.pt")
        with pytest.raises(Interrupted):
            store.get(tiny(), progress=False, stop_after_epoch=1)     # from scratch: stopped after its first epoch
        assert "another version of the network" in capsys.readouterr().out
    finally:
        monkeypatch.undo()
        T._fingerprint.cache_clear()


def test_removed_model_is_retrained_and_listing_does_not_crash(done):
    """Probe: model.pt removed -> `train` and `list` crashed with FileNotFoundError."""
    store, folder = done
    (folder / "model.pt").unlink()
    assert store.runs() == [] and not store.is_complete(tiny())
    assert store.get(tiny(), progress=False).metrics["model_sha256"] == sha256(folder / "model.pt")


@pytest.mark.parametrize("content", ["[]", "null", '{"test_bac": 0.9}'])
def test_a_malformed_metrics_file_is_rebuilt_from_history_and_model(done, content, monkeypatch):
    """Probes: metrics.json holding [] or null crashed (AttributeError / TypeError)."""
    store, folder = done
    before = read_json(folder / "metrics.json")
    (folder / "metrics.json").write_text(content)
    no_training(monkeypatch)
    run = store.get(tiny(), progress=False)
    assert run.metrics["test_bac"] == before["test_bac"] and run.metrics["model_sha256"] == before["model_sha256"]


def test_a_hand_edited_figure_is_noticed_and_recomputed(done, monkeypatch):
    """Probe: test BAC 0.16 -> 0.96 in metrics.json went unnoticed."""
    store, folder = done
    text = (folder / "metrics.json").read_text()
    true_bac = read_json(folder / "metrics.json")["test_bac"]
    (folder / "metrics.json").write_text(text.replace(f'"test_bac": {true_bac}', '"test_bac": 0.96'))
    with pytest.raises(Damaged, match="does not match its sha256"):
        read_json(folder / "metrics.json")
    no_training(monkeypatch)
    assert store.get(tiny(), progress=False).metrics["test_bac"] == true_bac


def test_a_malformed_config_file_is_not_a_traceback(done):
    """Probe: config.json holding [] crashed."""
    store, folder = done
    (folder / "config.json").write_text("[]")
    assert store.runs() == [] and not store.is_complete(tiny())


def test_a_damaged_history_costs_only_the_history(done, monkeypatch, capsys):
    """Probe: a damaged history.json deleted a good model.pt (and its embeddings) and retrained."""
    store, folder = done
    model_before = sha256(folder / "model.pt")
    epochs = read_json(folder / "history.json")["epochs"]
    (folder / "history.json").write_text('{"epochs": []')
    no_training(monkeypatch)
    run = store.get(tiny(), progress=True)
    assert sha256(folder / "model.pt") == model_before and run.history == epochs
    assert read_json(folder / "history.json")["epochs"] == epochs
    assert "history.json" in capsys.readouterr().out


def test_a_checkpoint_with_a_flipped_bit_or_an_empty_dict_is_not_resumed(store, shared_store, capsys):
    """Probes: a bit-flipped checkpoint was loaded (another model, marked complete); one holding {}
    failed with `error: 'model'` on every retry."""
    with pytest.raises(Interrupted):
        store.get(tiny(), progress=False, stop_after_epoch=1)
    ckpt = store.folder(tiny()) / "checkpoint.pt"
    blob = bytearray(ckpt.read_bytes())
    blob[len(blob) // 2] ^= 0x01
    ckpt.write_bytes(bytes(blob))
    with pytest.raises(Damaged):
        load_verified(ckpt, weights_only=False)
    run = store.get(tiny(), progress=False)
    assert "checkpoint not used" in capsys.readouterr().out
    whole = shared_store.get(tiny(), progress=False)
    assert run.metrics["model_sha256"] == whole.metrics["model_sha256"]   # digests equal for equal weights
    save_verified({}, ckpt)
    store.remove(tiny())
    with pytest.raises(Interrupted):
        store.get(tiny(), progress=False, stop_after_epoch=1)
    save_verified({}, ckpt)
    assert store.get(tiny(), progress=False).metrics["model_sha256"] == whole.metrics["model_sha256"]


@pytest.mark.parametrize("damage", ["truncated", "garbage", "deleted", "[]", "null", "edited model digest"])
def test_a_rebuilt_metrics_file_keeps_the_embeddings_of_the_same_model(done, monkeypatch, damage):
    """Probe: in six damage cases metrics.json was rebuilt without training, but the embeddings
    were extracted again although the model had not changed."""
    import fraglib.runs as R
    store, folder = done
    run = store.get(tiny(), train_if_missing=False)
    run.embeddings()
    npz = sha256(folder / "embeddings.npz")
    path = folder / "metrics.json"
    text = path.read_text()
    if damage == "truncated":
        path.write_text(text[:len(text) // 2])
    elif damage == "garbage":
        path.write_bytes(b"\x00\xff garbage")
    elif damage == "deleted":
        path.unlink()
    elif damage == "edited model digest":
        record = json.loads(text)
        record["model_sha256"] = "0" * 64
        write_json({k: v for k, v in record.items() if k != "_sha256"}, path)
    else:
        path.write_text(damage)
    no_training(monkeypatch)
    monkeypatch.setattr(R, "extract", lambda *a, **k: pytest.fail("embeddings extracted again"))
    run = store.get(tiny(), progress=False)
    run.embeddings()
    assert sha256(folder / "embeddings.npz") == npz and run.metrics["embeddings_sha256"] == npz
