"""Small files in the real on-disk formats of CIFAR-10, SVHN, CelebA and Fashion-MNIST.

torchvision checks the md5 of the real downloads; files made here cannot match, so the tests
switch that check off (`skip_md5`) and everything else - parsing, our loaders - runs for real.
"""
from __future__ import annotations

import gzip
import pickle
import struct
from pathlib import Path

import numpy as np


def skip_md5(monkeypatch):
    import torchvision.datasets.celeba as celeba
    import torchvision.datasets.cifar as cifar
    import torchvision.datasets.svhn as svhn
    for mod in (cifar, svhn, celeba):
        monkeypatch.setattr(mod, "check_integrity", lambda *a, **k: True)


def _labels(n_per_class: int, C: int, rng) -> np.ndarray:
    return rng.permutation(np.repeat(np.arange(C), n_per_class))


def make_cifar10(root: Path, n_per_class: int = 6, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    out = {}
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        y = _labels(n_per_class, 10, rng)
        x = rng.integers(0, 256, (len(y), 3072), dtype=np.uint8)
        with open(folder / name, "wb") as f:
            pickle.dump({"data": x, "labels": y.tolist()}, f)  # py2 str keys read as str
        out[name] = (x, y)
    with open(folder / "batches.meta", "wb") as f:
        pickle.dump({"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog",
                                     "horse", "ship", "truck"]}, f)
    return out


def make_svhn(root: Path, n_per_class: int, seed: int = 0) -> dict:
    from scipy.io import savemat
    rng = np.random.default_rng(seed)
    root.mkdir(parents=True, exist_ok=True)
    out = {}
    for split in ("train", "test"):
        y = _labels(n_per_class, 10, rng)
        y_mat = np.where(y == 0, 10, y)  # SVHN stores digit 0 as label 10
        x = rng.integers(0, 256, (32, 32, 3, len(y)), dtype=np.uint8)
        savemat(root / f"{split}_32x32.mat", {"X": x, "y": y_mat[:, None]})
        out[split] = (x, y)
    return out


CELEBA_ATTRS = ["5_o_Clock_Shadow", "Black_Hair", "Blond_Hair", "Male", "Young"]


def make_celeba(root: Path, n_per_group: int, seed: int = 0) -> list[dict]:
    """Aligned-face JPEGs (178x218) for black-haired men and women, and other hair, per split."""
    from PIL import Image
    rng = np.random.default_rng(seed)
    folder = root / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    rows = []
    for split in (0, 1, 2):
        for male in (1, -1):
            for black in (1, 1, -1):  # two black-haired groups per sex, one other
                for _ in range(n_per_group):
                    rows.append({"split": split, "Male": male, "Black_Hair": black})
    for i, r in enumerate(rows):
        r["file"] = f"{i + 1:06d}.jpg"
        shade = 40 if r["Male"] == 1 else 200  # a learnable difference, in case anyone trains on it
        arr = np.full((218, 178, 3), shade, np.uint8) + rng.integers(0, 20, (218, 178, 3), dtype=np.uint8)
        Image.fromarray(arr).save(folder / "img_align_celeba" / r["file"])
    n = len(rows)

    def write(name, header, lines):
        with open(folder / name, "w") as f:
            f.write("".join(header) + "\n".join(lines) + "\n")

    write("list_eval_partition.txt", [], [f"{r['file']} {r['split']}" for r in rows])
    write("identity_CelebA.txt", [], [f"{r['file']} {i % 7 + 1}" for i, r in enumerate(rows)])
    write("list_bbox_celeba.txt", [f"{n}\n", "image_id x_1 y_1 width height\n"],
          [f"{r['file']} 1 2 3 4" for r in rows])
    marks = "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y"
    write("list_landmarks_align_celeba.txt", [f"{n}\n", marks + "\n"],
          [f"{r['file']} " + " ".join(["50"] * 10) for r in rows])
    attr_lines = []
    for r in rows:
        vals = [str(r.get(a, -1)) for a in CELEBA_ATTRS]
        attr_lines.append(f"{r['file']}  " + " ".join(vals))
    write("list_attr_celeba.txt", [f"{n}\n", " ".join(CELEBA_ATTRS) + "\n"], attr_lines)
    return rows


def make_fashion_gz(folder: Path, n_train_per_class: int, n_test_per_class: int, seed: int = 0) -> dict:
    """The four IDX .gz files as Debian's dataset-fashion-mnist ships them."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    for prefix, n in (("train", n_train_per_class), ("t10k", n_test_per_class)):
        y = _labels(n, 10, rng).astype(np.uint8)
        x = rng.integers(0, 256, (len(y), 28, 28), dtype=np.uint8)
        with gzip.open(folder / f"{prefix}-images-idx3-ubyte.gz", "wb") as f:
            f.write(struct.pack(">IIII", 2051, len(y), 28, 28) + x.tobytes())
        with gzip.open(folder / f"{prefix}-labels-idx1-ubyte.gz", "wb") as f:
            f.write(struct.pack(">II", 2049, len(y)) + y.tobytes())
        out[prefix] = (x, y)
    return out
