"""Networks: extractor/head split, fe shape, and the CIFAR ResNet's size."""
from __future__ import annotations

import pytest
import torch

from fraglib.models import CosineHead, build_model


@pytest.mark.parametrize("name,channels,size", [("smallnet", 1, 28), ("resnet32", 3, 32), ("resnet56", 3, 64)])
@pytest.mark.parametrize("cosine", [False, True])
def test_logits_are_head_of_nonnegative_fe(name, channels, size, cosine):
    torch.manual_seed(0)
    model = build_model(name, channels, 10, cosine_head=cosine).eval()
    x = torch.randn(4, channels, size, size)
    fe = model.features(x)
    assert fe.shape == (4, 64) and (fe >= 0).all()
    fe_eff, W, b = model.head.operands(fe)
    ce = fe_eff[:, None, :] * W[None, :, :]
    torch.testing.assert_close(ce.sum(-1) + b, model(x), rtol=1e-5, atol=1e-5)
    assert isinstance(model.head, CosineHead) == cosine


def test_resnet_sizes_match_he_et_al():
    params = lambda m: sum(p.numel() for p in m.parameters())  # noqa: E731
    assert params(build_model("resnet32", 3, 10)) == pytest.approx(0.46e6, rel=0.02)
    assert params(build_model("resnet56", 3, 10)) == pytest.approx(0.85e6, rel=0.02)
    blocks = lambda m: len(m.extractor.blocks)  # noqa: E731
    assert blocks(build_model("resnet32", 3, 10)) == 15 and blocks(build_model("resnet56", 3, 10)) == 27


def test_the_network_fingerprint_sees_code_and_structure_not_comments():
    from fraglib.models import fingerprint
    from fraglib.provenance import code_tokens as _code_tokens
    code = 'class A:\n    """Doc."""\n    def f(self, x):  # a comment\n        return x * 2\n'
    same = 'class A:\n    """Another doc."""\n\n    def f(self, x):\n        # moved comment\n        return x*2\n'
    other = 'class A:\n    """Doc."""\n    def f(self, x):\n        return x * 3\n'
    assert _code_tokens(code) == _code_tokens(same) != _code_tokens(other)
    small = build_model("smallnet", 1, 10)
    assert fingerprint(small) == fingerprint(build_model("smallnet", 1, 10))       # weights aside
    small.extractor.body[0].stride = (1, 1)                                          # same shapes
    assert fingerprint(small) != fingerprint(build_model("smallnet", 1, 10))
    assert fingerprint(build_model("smallnet", 1, 10, cosine_head=True)) != fingerprint(build_model("smallnet", 1, 10))


def test_a_network_fingerprint_is_read_without_torch_once_known(tmp_path):
    """Probe: the book's command and every page kernel imported torch (2.5-4 s each on a 2-core CPU)
    only to name the run folders by their network's fingerprint, with every run stored. Now a
    process without torch reads it from the cache (`netid`), keyed by the network's arguments, the
    code of models.py and torch's version; the first such process computes it, a damaged cache is
    computed again, and the value is always the one computed from the network."""
    import os
    import subprocess
    import sys

    from fraglib.train import network_fingerprint

    from .helpers import REPO, tiny
    probe = ("import sys; from fraglib.netid import network_fingerprint; from fraglib.config import RunConfig; "
             "c = RunConfig.make('fashion-mnist', 'ldam-drw', 100, profile='tiny'); "
             "print(network_fingerprint(c), 'torch' in sys.modules)")
    env = {**os.environ, "FRAGLIB_CACHE": str(tmp_path)}

    def ask() -> list[str]:
        return subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True,
                              check=True).stdout.split()

    truth = network_fingerprint(tiny("ldam-drw"))
    assert ask() == [truth, "True"] and (tmp_path / "network-fingerprints.json").exists()   # computed, kept
    assert ask() == [truth, "False"]                                                       # read: no torch
    (tmp_path / "network-fingerprints.json").write_text('{"half-written')
    assert ask() == [truth, "True"]                                                        # damaged: computed
    assert ask() == [truth, "False"]
