"""Extraction into the run folder, the run's measures, and classifier re-training."""
from __future__ import annotations

import numpy as np
import pytest

import fraglib.measures as M
import fraglib.runs as R
from fraglib.heads import fit_linear_head, head_bac

from .helpers import tiny


@pytest.mark.parametrize("loss", ["ce", "ldam-drw"])  # linear head with bias; cosine head
def test_sum_of_ce_plus_bias_is_the_models_own_logits(shared_store, loss):
    run = shared_store.get(tiny(loss), progress=False)
    emb = run.embeddings()
    for split in ("train", "test"):
        fe_eff = getattr(emb, f"fe_eff_{split}")
        np.testing.assert_allclose(M.logits(fe_eff, emb.weight_eff, emb.bias),
                                   getattr(emb, f"logits_{split}"), rtol=1e-4, atol=1e-4)
    assert emb.fe_train.shape == (len(run.data.y_train), 64) and (emb.fe_train >= 0).all()
    assert emb.fe_full.shape == (3000, 64) and np.bincount(emb.y_full).tolist() == [300] * 10
    with np.load(run.folder / "embeddings.npz") as z:
        names = set(z.files)
    assert {"fe_train", "y_train", "fe_test", "y_test", "logits_train", "logits_test", "weight",
            "bias"} <= names
    if loss == "ldam-drw":
        assert not emb.bias.any()  # the cosine head has no bias
        np.testing.assert_allclose(np.linalg.norm(emb.weight_eff, axis=1), 1, rtol=1e-5)
        np.testing.assert_allclose(np.linalg.norm(emb.fe_eff_train, axis=1), 30, rtol=1e-4)
        assert {"fe_eff_train", "fe_eff_test", "weight_eff"} <= names
    # the test predictions agree with the stored per-class test accuracy
    acc = M.per_class_accuracy(emb.y_test, emb.pred_test, 10)
    np.testing.assert_allclose(acc, run.metrics["test_class_acc"])
    # the training rows are read from the full set's pass: the same values as a pass of their own
    import torch
    from fraglib.train import evaluate, predict
    assert run.data.train_index is not None
    lg, fe = predict(run.model("cpu"), run.data.x_train, run.data.spec, torch.device("cpu"), features=True)
    np.testing.assert_array_equal(emb.fe_train, fe.numpy())
    np.testing.assert_array_equal(emb.logits_train, lg.numpy())
    # and metrics.json's accuracies, read from the embeddings' logits, are an evaluation's
    today = evaluate(run.model("cpu"), run.data, "cpu")
    assert {k: run.metrics[k] for k in today} == today


def test_damaged_embeddings_are_extracted_again(store):
    run = store.get(tiny(), progress=False)
    first = run.embeddings().fe_test.copy()
    path = run.folder / "embeddings.npz"
    path.write_bytes(path.read_bytes()[:100])
    np.testing.assert_array_equal(run.embeddings().fe_test, first)


def test_costly_analyses_are_computed_once_and_again_when_damaged(store, monkeypatch):
    import fraglib.rq.rq1 as F
    from fraglib.study import analyse
    run = store.get(tiny(), progress=False)
    bac = analyse(run, F.RETRAIN)["bac"]
    path = run.folder / "derived" / "retrain.json"
    assert 0 <= bac <= 1 and path.exists()
    monkeypatch.setattr(F, "fit_linear_head", lambda *a, **k: pytest.fail("computed twice"))
    assert analyse(run, F.RETRAIN)["bac"] == bac  # read from derived/retrain.json
    path.write_text(path.read_text()[:20])  # a damaged file is computed again, never trusted
    monkeypatch.undo()
    assert analyse(run, F.RETRAIN)["bac"] == pytest.approx(bac)
    other = analyse(run, F.RETRAIN, regime=F.HeadRegime(epochs=2))["bac"]  # another key: computed anew
    assert 0 <= other <= 1


def test_fit_linear_head_separates_separable_embeddings():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(4, 16)) * 4
    y = rng.integers(0, 4, 800)
    fe = centres[y] + rng.normal(size=(800, 16))
    W, b = fit_linear_head(fe, y, 4, seed=0)
    assert W.shape == (4, 16) and b.shape == (4,)
    assert head_bac(W, b, fe, y, 4) > 0.98
    W2, b2 = fit_linear_head(fe, y, 4, seed=0)
    np.testing.assert_array_equal(W, W2)  # same seed, same head


def test_heads_fitted_side_by_side_are_the_heads_fitted_alone():
    """EOS's grid fits its heads stacked: each is the head of its own regime (to float32 rounding),
    whatever its length beside the others; heads that cannot share batches are refused."""
    from fraglib.heads import HeadRegime, fit_linear_heads
    rng = np.random.default_rng(1)
    y = rng.integers(0, 5, 700)
    fe = rng.normal(size=(5, 12))[y] + rng.normal(size=(700, 12))
    init = (rng.normal(size=(5, 12)), rng.normal(size=5))
    regimes = [HeadRegime(epochs=e, lr=lr) for lr in (0.003, 0.05) for e in (2, 7, 4)]
    for start in (init, None):
        together = fit_linear_heads(fe, y, 5, 3, regimes, start)
        for regime, (W, b) in zip(regimes, together):
            W1, b1 = fit_linear_head(fe, y, 5, 3, regime, start)
            np.testing.assert_allclose(W, W1, atol=1e-5)
            np.testing.assert_allclose(b, b1, atol=1e-5)
        assert not np.allclose(together[0][0], together[1][0], atol=1e-3)   # the lengths differ, and so do the heads
    with pytest.raises(ValueError, match="share batch size"):
        fit_linear_heads(fe, y, 5, 0, (HeadRegime(), HeadRegime(batch_size=64)))


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


def test_the_embeddings_follow_the_inference_code_not_the_training_loop_or_the_measures():
    """Probe: an edit to measures.py (a measure of the analyses) re-extracted every run's embeddings
    (7 min on the quick book): the embeddings' code digest walked embed -> train -> measures, losses,
    procrustean. The inference pass is its own module (infer.py), and the walk stops there."""
    from fraglib.provenance import module_path, package_imports
    seen, todo = set(), ["embed"]
    while todo:
        m = todo.pop()
        if m not in seen:
            seen.add(m)
            todo.extend(i for i in package_imports(module_path(m)) if module_path(i).exists())
    assert {"embed", "infer", "models", "data"} <= seen
    assert not seen & {"train", "measures", "losses", "procrustean", "heads", "runs", "recovery"}, sorted(seen)


def test_a_cached_analysis_follows_the_embeddings_it_was_computed_from(done, monkeypatch):
    """Probe: an edit to embed.py re-extracted embeddings.npz (their fe changed) but kept
    derived/retrain.json, and the book showed RQ1's re-trained BAC computed on the old fe. A
    derived analysis is keyed by the embeddings it reads too."""
    import fraglib.embed as E
    import fraglib.rq.rq1 as Q
    import fraglib.runs as R
    from fraglib.study import analyse
    store, _ = done
    run = store.get(tiny(), train_if_missing=False)
    before = analyse(run, Q.RETRAIN)["bac"]
    real = E.extract

    def edited(model, data, path, device=None, full=True):   # as if embed.py now scaled fe
        real(model, data, path, device, full=full)
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        arrays["fe_full"] = arrays["fe_full"] * 0.0 + np.eye(arrays["fe_full"].shape[1])[arrays["y_full"] % 2]
        np.savez(path, **arrays)
        from fraglib.fileio import sha256
        return sha256(path)
    monkeypatch.setattr(R, "extract", edited)
    monkeypatch.setattr(R, "source_digest", lambda module: "edited")
    after = analyse(run, Q.RETRAIN)["bac"]
    assert run.metrics["embeddings_code"] == "edited"
    assert after != before and after == analyse(run, Q.RETRAIN)["bac"]     # computed on the new fe, then cached


@pytest.mark.parametrize("precision", ["bf16", "fp32"])
def test_the_windows_test_batches_give_the_loops_logits(shared_store, precision):
    """The training loop evaluates the test set at the selection window's epochs in batches of
    WINDOW_TEST_BATCH instead of its 1000 (faster on the CPU): an image's logits do not depend on
    its batch, bit for bit, in the loop's network (channels_last) at either precision, so the
    window's test BAC and the test-best epoch are the ones batches of 1000 gave."""
    import torch
    from fraglib.infer import predict
    from fraglib.train import WINDOW_TEST_BATCH, new_model
    run = shared_store.get(tiny(), progress=False)
    net = new_model(run.config, run.data).to(memory_format=torch.channels_last)
    net.load_state_dict(run.model("cpu").state_dict())
    x = torch.cat([run.data.x_test] * 2)      # more images than one batch of either size
    cpu = torch.device("cpu")
    assert len(x) > 1000 > WINDOW_TEST_BATCH
    assert torch.equal(predict(net, x, run.data.spec, cpu, precision, batch_size=WINDOW_TEST_BATCH),
                       predict(net, x, run.data.spec, cpu, precision, batch_size=1000))
