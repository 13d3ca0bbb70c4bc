"""Procrustean mixing (our interpretation of the abstract) and the per-class history it is judged by."""
from __future__ import annotations

import pytest
import torch

from fraglib.procrustean import feature_site, mix, mix_strength
from fraglib.rq import procrustean as pt
from fraglib.train import batch_class_sums

from .helpers import tiny


def test_strength_follows_the_class_counts_and_spares_the_smallest():
    lam = mix_strength([100, 50, 10, 10], 0.5)
    assert torch.allclose(lam, torch.tensor([0.5, 0.5 * 40 / 90, 0.0, 0.0]))
    assert torch.equal(mix_strength([7, 7, 7], 0.5), torch.zeros(3))


def test_mixing_keeps_labels_leaves_the_smallest_classes_untouched_and_is_seeded():
    h = torch.randn(8, 3, 4, 4)
    y = torch.tensor([0, 0, 1, 1, 2, 2, 2, 0])
    y_before = y.clone()
    lam = mix_strength([100, 50, 10], 0.5)
    out = mix(h, y, lam, torch.Generator().manual_seed(3))
    assert torch.equal(y, y_before)                                   # the label stays the class's
    assert torch.equal(out[y == 2], h[y == 2])                        # the smallest class: not mixed
    assert not torch.allclose(out[y == 0], h[y == 0])                 # the largest: mixed
    again = mix(h, y, lam, torch.Generator().manual_seed(3))
    assert torch.equal(out, again)
    # the largest class's rows are (1 - 0.5) h + 0.5 h[partner]: halfway to another image of the batch
    partner = torch.randperm(8, generator=torch.Generator().manual_seed(3))
    assert torch.allclose(out[0], 0.5 * h[0] + 0.5 * h[partner[0]])


def test_per_class_history_sums_on_a_hand_made_batch():
    logits = torch.tensor([[5.0, 0, 0, 0], [0, 5.0, 0, 0], [5.0, 0, 0, 0], [0, 0, 0, 5.0]])
    y = torch.tensor([0, 2, 2, 3])          # major classes: 0 and 1 (C // 2 = 2)
    grad = torch.tensor([[0.25, 0], [0, 0], [0.75, 1.0], [0, 0.5]]) / 4   # of the batch's mean loss
    s = batch_class_sums(logits, y, grad, 4, 2)
    assert s[0].tolist() == [1, 0, 2, 1]                             # images per class
    assert s[1].tolist() == [1, 0, 0, 1]                             # correct
    assert s[2].tolist() == [1, 0, 2, 0]                             # predicted as a major class
    assert torch.allclose(s[3], torch.tensor([0.25, 0, 1.25, 0.5]))  # sum of per-image |dL_n/dfe_n|


@pytest.mark.parametrize("site", ["input", "feature"])
def test_a_procrustean_run_trains_and_records_the_per_class_history(store, site):
    config = tiny(procrustean=site)
    assert f"procrustean-{site}" in config.key() and config.digest() != tiny().digest()
    run = store.get(config, progress=False)
    h = run.history[-1]
    assert len(h["major_share"]) == 10 and len(h["fe_grad_norm"]) == 10
    assert all(0 <= s <= 1 for s in h["major_share"]) and all(g >= 0 for g in h["fe_grad_norm"])
    model = run.model("cpu")
    assert not feature_site(model)._forward_hooks                     # the hook is gone after training


def test_plain_configs_keep_their_identity():
    assert "procrustean" not in tiny().to_dict()
    with pytest.raises(ValueError, match="procrustean mixing site"):
        tiny(procrustean="middle")


def test_the_chapters_claims_read_the_histories(store):
    """The Procrustean figures on the four tiny runs (trained here), and their claims."""
    from fraglib import verdicts
    from fraglib.config import procrustean_configs
    from fraglib.study import Study
    study = Study("fashion-mnist", "ce", 100, "tiny", store=store, progress=False, runs="procrustean",
                  n_resamples=200, site="input", strength=0.5)
    fig = study.figures("PT")
    assert len(procrustean_configs("fashion-mnist", "ce", 100, "tiny", 0, "input", 0.5)) == 4
    assert 0 <= fig.ce_major_share_early <= 100 and fig.ce_grad_ratio_early > 0 and fig.early_epochs == 1
    assert fig.gain_step == pytest.approx(fig.pt_bac_step - fig.ce_bac_step)
    out = pt.check(fig)
    assert len(out) == 7 and all(c.verdict in verdicts.VERDICTS for c in out)
    assert out[0].support is None and out[5].support is not None       # history one network, BAC resampled
    assert out[4].verdict in (verdicts.DESCRIPTIVE, verdicts.OUTSIDE)       # the mixed batches do not vote
    assert "clean_class_acc" in study.runs["ce_exp"].history[0]        # every epoch, on clean images
