"""Datasets, imbalance, validation split and batched augmentation."""
from __future__ import annotations

import dataclasses
import subprocess
import sys

import numpy as np
import pytest
import torch

import fraglib.data as D
from fraglib.config import RunConfig
from fraglib.fileio import (
    load_verified,
    save_verified,
)

from .fake_datasets import (
    make_celeba,
    make_cifar10,
    make_fashion_gz,
    make_svhn,
    skip_md5,
)
from .helpers import tiny


def test_imbalance_counts_match_design():
    assert D.imbalance_counts(5000, 10, 100) == [5000, 2997, 1796, 1077, 645, 387, 232, 139, 83, 50]
    assert sum(D.imbalance_counts(5000, 10, 100)) == 12406
    assert D.imbalance_counts(6000, 10, 100) == [6000, 3596, 2156, 1292, 774, 464, 278, 166, 100, 60]
    assert D.imbalance_counts(5000, 2, 20) == [5000, 250]
    assert D.imbalance_counts(5000, 10, 100, "step") == [5000] * 5 + [50] * 5
    assert D.imbalance_counts(100, 10, 1) == [100] * 10


@pytest.mark.parametrize("ratio", [0.5, 0, -3])
def test_ratio_below_one_is_refused(ratio):
    with pytest.raises(ValueError, match="must be >= 1"):
        D.imbalance_counts(100, 10, ratio)
    with pytest.raises(ValueError, match="must be a finite number >= 1"):
        RunConfig.make("fashion-mnist", "ce", ratio)


def test_unknown_imbalance_type_names_choices():
    with pytest.raises(ValueError, match="exp, step"):
        D.imbalance_counts(100, 10, 10, "linear")


def test_fashion_mnist_run_data_is_imbalanced_with_matching_val_and_balanced_test():
    data = D.make_run_data(tiny(ratio=100))  # 300 per class before imbalance
    counts = D.imbalance_counts(300, 10, 100)
    val = np.bincount(data.y_val.numpy(), minlength=10)
    train = np.bincount(data.y_train.numpy(), minlength=10)
    assert (val + train).tolist() == counts
    assert val.tolist() == [max(1, round(0.2 * n)) for n in counts]  # same share of every class
    assert np.bincount(data.y_test.numpy()).tolist() == [100] * 10
    assert data.x_train.dtype == torch.uint8 and data.x_train.shape[1:] == (1, 28, 28)
    assert len(data.y_full) == 3000  # the full balanced set, for classifier re-training
    # No image is in both train and val
    tr = {bytes(x.numpy().tobytes()) for x in data.x_train}
    assert not any(bytes(x.numpy().tobytes()) in tr for x in data.x_val)


def test_paper_protocol_has_no_val_split():
    data = D.make_run_data(tiny(selection="test"))
    assert data.x_val is None
    assert data.train_counts() == D.imbalance_counts(300, 10, 100)


def test_data_seed_fixes_which_images_are_kept():
    a, b = D.make_run_data(tiny()), D.make_run_data(tiny())
    c = D.make_run_data(tiny(data_seed=1))
    assert torch.equal(a.x_train, b.x_train)
    assert not torch.equal(a.x_train[-20:], c.x_train[-20:])


def test_augment_crops_and_flips_as_a_batch():
    x = torch.arange(2 * 1 * 4 * 4, dtype=torch.uint8).view(2, 1, 4, 4)
    gen = torch.Generator().manual_seed(0)
    out = D.augment(x, padding=0, flip=True, gen=gen)
    for i in range(2):  # each image is itself or its mirror
        assert torch.equal(out[i], x[i]) or torch.equal(out[i], x[i].flip(2))
    out = D.augment(x, padding=2, flip=False, gen=torch.Generator().manual_seed(1))
    assert out.shape == x.shape
    for i in range(2):  # every crop is a window of the zero-padded image
        padded = torch.nn.functional.pad(x[i], (2, 2, 2, 2))
        windows = [padded[:, r:r + 4, c:c + 4] for r in range(5) for c in range(5)]
        assert any(torch.equal(out[i], w) for w in windows)
    again = D.augment(x, padding=2, flip=False, gen=torch.Generator().manual_seed(1))
    assert torch.equal(out, again)


def test_fashion_mnist_is_found_in_the_debian_folder(tmp_path, monkeypatch):
    made = make_fashion_gz(tmp_path / "debian", 3, 2)
    monkeypatch.setenv("FRAGLIB_FASHION_MNIST_DIR", str(tmp_path / "debian"))
    x, y = D.load_source("fashion-mnist", True, tmp_path / "root")
    assert x.shape == (30, 1, 28, 28)
    assert np.array_equal(x[:, 0].numpy(), made["train"][0]) and np.array_equal(y.numpy(), made["train"][1])
    assert (tmp_path / "root" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte").exists()
    x_test, _ = D.load_source("fashion-mnist", False, tmp_path / "root")
    assert len(x_test) == 20


def test_missing_fashion_mnist_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAGLIB_FASHION_MNIST_DIR", str(tmp_path / "nowhere"))
    monkeypatch.setattr("torchvision.datasets.FashionMNIST.mirrors", ["http://127.0.0.1:9/"])
    with pytest.raises(D.DatasetMissing, match="apt-get install -y dataset-fashion-mnist"):
        D.load_source("fashion-mnist", True, tmp_path / "root")


def test_missing_online_dataset_names_the_fix(tmp_path, monkeypatch):
    monkeypatch.setattr("torchvision.datasets.CIFAR10.url", "http://127.0.0.1:9/cifar.tar.gz")
    with pytest.raises(D.DatasetMissing, match="fashion-mnist"):
        D.load_source("cifar10", True, tmp_path)


def test_damaged_prepared_cache_is_rebuilt(tmp_path, monkeypatch):
    make_fashion_gz(tmp_path / "debian", 2, 1)
    monkeypatch.setenv("FRAGLIB_FASHION_MNIST_DIR", str(tmp_path / "debian"))
    cache = tmp_path / "root" / "prepared" / "fashion-mnist-train.pt"
    cache.parent.mkdir(parents=True)
    cache.write_bytes(b"half a file")
    x, _ = D.load_source("fashion-mnist", True, tmp_path / "root")
    assert len(x) == 20 and load_verified(cache)["x"].shape == x.shape
    # one flipped byte in a well-formed cache: loaded as is before digests, now rebuilt
    blob = bytearray(cache.read_bytes())
    blob[-200] ^= 0xFF
    cache.write_bytes(bytes(blob))
    x2, _ = D.load_source("fashion-mnist", True, tmp_path / "root")
    assert torch.equal(x2, x) and load_verified(cache)["x"].shape == x.shape


def test_the_prepared_cache_follows_the_code_that_prepared_it(tmp_path, monkeypatch):
    """A cache prepared by other code (a crop or a draw edited in data.py) is prepared again, not
    loaded: CelebA's 64-pixel cache would otherwise feed a network after `size` became 32."""
    make_fashion_gz(tmp_path / "debian", 2, 1)
    monkeypatch.setenv("FRAGLIB_FASHION_MNIST_DIR", str(tmp_path / "debian"))
    cache = tmp_path / "root" / "prepared" / "fashion-mnist-train.pt"
    x, y = D.load_source("fashion-mnist", True, tmp_path / "root")
    save_verified({"x": x[:5], "y": y[:5], "code": "older code"}, cache)
    again, _ = D.load_source("fashion-mnist", True, tmp_path / "root")
    assert torch.equal(again, x) and load_verified(cache)["code"] == D.source_digest("data")


def test_a_truncated_idx_file_is_named_and_extracted_again(tmp_path, monkeypatch, capsys):
    make_fashion_gz(tmp_path / "debian", 2, 1)
    monkeypatch.setenv("FRAGLIB_FASHION_MNIST_DIR", str(tmp_path / "debian"))
    x, _ = D.load_source("fashion-mnist", True, tmp_path / "root")
    raw = tmp_path / "root" / "FashionMNIST" / "raw" / "train-images-idx3-ubyte"
    raw.write_bytes(raw.read_bytes()[:100])
    (tmp_path / "root" / "prepared" / "fashion-mnist-train.pt").unlink()
    x2, _ = D.load_source("fashion-mnist", True, tmp_path / "root")
    assert torch.equal(x, x2) and f"{raw} is damaged" in capsys.readouterr().out
    raw.write_bytes(raw.read_bytes()[:100])                      # and with no intact copy to extract
    (tmp_path / "root" / "prepared" / "fashion-mnist-train.pt").unlink()
    monkeypatch.setenv("FRAGLIB_FASHION_MNIST_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(D.DatasetMissing, match="train-images-idx3-ubyte"):
        D.load_source("fashion-mnist", True, tmp_path / "root")


def test_cifar10_loads_from_its_real_format(tmp_path, monkeypatch):
    skip_md5(monkeypatch)
    made = make_cifar10(tmp_path)
    x, y = D.load_source("cifar10", True, tmp_path)
    assert x.shape == (300, 3, 32, 32) and x.dtype == torch.uint8
    first = made["data_batch_1"][0][0].reshape(3, 32, 32)  # CIFAR rows are CHW-flattened
    assert np.array_equal(x[0].numpy(), first)
    assert np.bincount(y.numpy()).tolist() == [30] * 10
    x_test, _ = D.load_source("cifar10", False, tmp_path)
    assert len(x_test) == 60


def test_svhn_draws_the_same_number_per_class(tmp_path, monkeypatch):
    skip_md5(monkeypatch)
    made = make_svhn(tmp_path, n_per_class=12)
    monkeypatch.setitem(D.SPECS, "svhn", dataclasses.replace(D.SPECS["svhn"], train_per_class=8,
                                                             test_per_class=5))
    x, y = D.load_source("svhn", True, tmp_path)
    assert x.shape == (80, 3, 32, 32) and np.bincount(y.numpy()).tolist() == [8] * 10
    # label 10 on disk is digit 0, and images are (C, H, W) from SVHN's (H, W, C, N)
    src_x, src_y = made["train"]
    j = int(np.flatnonzero(src_y == 0)[0])
    assert any(np.array_equal(x[i].numpy(), src_x[..., j].transpose(2, 0, 1)) for i in range(len(x)))
    x_test, y_test = D.load_source("svhn", False, tmp_path)
    assert np.bincount(y_test.numpy()).tolist() == [5] * 10


def test_celeba_keeps_black_haired_men_and_women(tmp_path, monkeypatch):
    skip_md5(monkeypatch)
    make_celeba(tmp_path, n_per_group=3)
    monkeypatch.setitem(D.SPECS, "celeba", dataclasses.replace(D.SPECS["celeba"], train_per_class=5,
                                                               test_per_class=4))
    x, y = D.load_source("celeba", True, tmp_path)
    assert x.shape == (10, 3, 64, 64) and x.dtype == torch.uint8
    assert np.bincount(y.numpy()).tolist() == [5, 5]
    # men were drawn dark (shade 40), women light (shade 200): class 0 = man
    assert x[y == 0].float().mean() < 80 < 160 < x[y == 1].float().mean()
    x_test, y_test = D.load_source("celeba", False, tmp_path)
    assert np.bincount(y_test.numpy()).tolist() == [4, 4]


def test_celeba_with_too_few_images_says_so(tmp_path, monkeypatch):
    skip_md5(monkeypatch)
    make_celeba(tmp_path, n_per_group=1)
    with pytest.raises(ValueError, match="images, 5000 were asked for"):
        D.load_source("celeba", True, tmp_path)


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


def test_the_class_order_moves_the_majority_with_the_class_sizes():
    """Probe: the majority was T-shirt (class 0) and the minority ankle boot (class 9) in every
    seed, and the balanced network's class 0 was already the hardest class: a verdict could be
    about class identity, not imbalance. A seed now sets which class gets which size too: each
    class is relabelled by its imbalance rank (0 = the majority), in both runs of a pair."""
    from fraglib.config import RunConfig, pair_configs
    from fraglib.data import make_run_data
    paper = make_run_data(RunConfig.make("fashion-mnist", "ce", 100, profile="tiny"))
    swapped = make_run_data(RunConfig.make("fashion-mnist", "ce", 100, profile="tiny", class_order="reversed"))
    assert torch.equal(swapped.y_full, 9 - paper.y_full) and torch.equal(swapped.y_test, 9 - paper.y_test)
    counts = torch.bincount(swapped.y_train, minlength=10)
    assert counts[0] == counts.max() and counts[9] == counts.min()           # rank 0 the majority, as before
    big = swapped.x_full[swapped.y_full == 0]
    assert torch.equal(big, paper.x_full[paper.y_full == 9])                 # ... but it is the ankle boots now
    pair = pair_configs("fashion-mnist", "ce", 100, "tiny", seed=1)
    assert {c.class_order for c in pair.values()} == {"reversed"}           # the balanced twin: the same classes
    assert RunConfig.make(profile="tiny", seed=2).class_order == "drawn" and "order=drawn" in RunConfig.make(
        profile="tiny", seed=2).key()
    assert RunConfig.make(profile="tiny").to_dict() == RunConfig.make(profile="tiny", class_order="paper").to_dict()
