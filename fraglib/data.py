"""Datasets as in-memory uint8 tensors, the paper's imbalance, and batched augmentation.

Every dataset is read through torchvision's own dataset class, once, and kept as a prepared
tensor file (`<root>/prepared/<name>-<split>.pt`, written atomically). Fashion-MNIST is looked
for in Debian's `dataset-fashion-mnist` folder before any download, so the default profile
works offline. Which images an imbalanced run keeps is fixed by `RunConfig.data_seed`.
"""
from __future__ import annotations

import gzip
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from .config import (DATASETS, FULL_PER_CLASS, SPECS, DatasetSpec, RunConfig,  # noqa: F401 (facts re-exported)
                     check_choice, imbalance_counts, max_valid_ratio, source_per_class)
from .fileio import Damaged, clean_temporaries, load_verified, save_verified
from .provenance import source_digest

DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
FASHION_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                 "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")
SOURCE_DRAW_SEED = 0  # SVHN / CelebA per-class draws are part of the dataset's definition


def default_root() -> Path:
    """Data folder: $FRAGLIB_DATA, else `data/` beside the package's source checkout."""
    env = os.environ.get("FRAGLIB_DATA")
    root = (Path(env) if env else Path(__file__).resolve().parents[1] / "data").resolve()
    if root.exists() and not root.is_dir():
        raise DataFolderError(f"the data folder {root} is a file, not a folder: give a folder with FRAGLIB_DATA")
    return root


# -- imbalance --------------------------------------------------------------------------------
def per_class_draw(y: torch.Tensor, counts, gen: torch.Generator) -> list[torch.Tensor]:
    """For each class c, a random choice of counts[c] of its indices (order random too)."""
    out = []
    for c, n in enumerate(counts):
        idx = torch.nonzero(y == c).flatten()
        if len(idx) < n:
            raise ValueError(f"class {c} has {len(idx)} images, {n} were asked for")
        out.append(idx[torch.randperm(len(idx), generator=gen)[:n]])
    return out


# -- sources ----------------------------------------------------------------------------------
class DatasetMissing(RuntimeError):
    pass


class DataFolderError(RuntimeError):
    pass


def _fashion_mnist(root: Path, train: bool):
    from torchvision.datasets import FashionMNIST
    raw = root / "FashionMNIST" / "raw"
    debian = Path(os.environ.get("FRAGLIB_FASHION_MNIST_DIR", DEBIAN_FASHION_MNIST))
    have_debian = all((debian / f"{f}.gz").exists() for f in FASHION_FILES)
    if raw.is_dir():
        clean_temporaries(raw)
    for path in _damaged_idx(raw):
        if not have_debian:
            raise DatasetMissing(f"{path} is damaged (truncated, or not an IDX file) and there is no intact "
                                 f"copy in {debian} to extract it from. Fix: delete it and `apt-get install "
                                 f"--reinstall -y dataset-fashion-mnist`")
        print(f"{path} is damaged (truncated, or not an IDX file): extracted again")
        path.unlink()  # redone from the Debian copy below
    if not all((raw / f).exists() for f in FASHION_FILES):
        if have_debian:
            raw.mkdir(parents=True, exist_ok=True)
            for f in FASHION_FILES:  # un-gzip, atomically: torchvision wants the raw IDX files
                tmp = raw / f"{f}.tmp{os.getpid()}"
                with gzip.open(debian / f"{f}.gz") as src, open(tmp, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                os.replace(tmp, raw / f)
    present = all((raw / f).exists() for f in FASHION_FILES)
    try:
        ds = FashionMNIST(str(root), train=train, download=not present)
    except Exception as e:  # offline and not installed
        raise DatasetMissing(
            f"Fashion-MNIST not found in {raw} nor in {DEBIAN_FASHION_MNIST}, and the download failed "
            f"({e.__class__.__name__}). Fix: `apt-get install -y dataset-fashion-mnist` (Debian), or run "
            f"once online.") from e
    return ds.data.unsqueeze(1).contiguous(), ds.targets.long()


def _damaged_idx(raw: Path) -> list[Path]:
    """The raw IDX files present whose size is not what their header says (truncated, or not an
    IDX file at all)."""
    import math
    import struct
    bad = []
    for name in FASHION_FILES:
        path = raw / name
        if not path.exists():
            continue
        dims = 3 if "images" in name else 1
        try:
            with open(path, "rb") as f:
                head = f.read(4 + 4 * dims)
            magic, *shape = struct.unpack(f">I{dims}I", head)
            ok = magic == 0x800 + dims and path.stat().st_size == len(head) + math.prod(shape)
        except (OSError, struct.error):
            ok = False
        if not ok:
            bad.append(path)
    return bad


def _online(name: str, make, root: Path, hint: str):
    """Build a torchvision dataset, downloading only when it is not already under root."""
    try:
        return make(False)
    except RuntimeError:
        pass  # not there (torchvision says "Dataset not found or corrupted")
    try:
        return make(True)
    except Exception as e:
        raise DatasetMissing(
            f"{name} is not under {root} and could not be downloaded ({e.__class__.__name__}: {e}). "
            f"Fix: run once with network access, or place {hint} under {root}. Offline, use "
            f"dataset='fashion-mnist' (valid datasets: {', '.join(DATASETS)}).") from e


def _cifar10(root: Path, train: bool):
    from torchvision.datasets import CIFAR10
    ds = _online("CIFAR-10", lambda dl: CIFAR10(str(root), train=train, download=dl), root,
                 "cifar-10-batches-py/")
    return torch.from_numpy(ds.data).permute(0, 3, 1, 2).contiguous(), torch.tensor(ds.targets).long()


def _svhn(root: Path, train: bool):
    from torchvision.datasets import SVHN
    split = "train" if train else "test"
    ds = _online("SVHN", lambda dl: SVHN(str(root), split=split, download=dl), root, f"{split}_32x32.mat")
    x, y = torch.from_numpy(ds.data), torch.from_numpy(ds.labels).long()
    spec = SPECS["svhn"]
    n = spec.train_per_class if train else spec.test_per_class
    idx = torch.cat(per_class_draw(y, [n] * 10, torch.Generator().manual_seed(SOURCE_DRAW_SEED)))
    return x[idx].contiguous(), y[idx]


def _celeba(root: Path, train: bool):
    from torchvision.datasets import CelebA
    import torchvision.transforms.functional as TF
    split = "train" if train else "test"
    ds = _online("CelebA", lambda dl: CelebA(str(root), split=split, target_type="attr", download=dl),
                 root, "celeba/ (img_align_celeba/ and the list_*.txt files)")
    names = list(ds.attr_names)
    black, male = ds.attr[:, names.index("Black_Hair")] == 1, ds.attr[:, names.index("Male")] == 1
    y_all = torch.where(male, 0, 1)  # class 0 = man, 1 = woman (SPECS order)
    y_all[~black] = -1               # other hair colours are left out
    spec = SPECS["celeba"]
    n = spec.train_per_class if train else spec.test_per_class
    idx = torch.cat(per_class_draw(y_all, [n] * 2, torch.Generator().manual_seed(SOURCE_DRAW_SEED)))
    images = []
    for i in idx.tolist():
        img, _ = ds[i]  # aligned 178x218 face: centre square crop, then resize
        img = TF.resize(TF.center_crop(img, 178), [spec.size, spec.size], antialias=True)
        images.append(TF.pil_to_tensor(img))
    return torch.stack(images), y_all[idx]


_SOURCES = {"fashion-mnist": _fashion_mnist, "cifar10": _cifar10, "svhn": _svhn, "celeba": _celeba}


def load_source(name: str, train: bool, root: Path | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """The whole (balanced) train or test split as uint8 (N, C, H, W) and int64 labels, cached."""
    check_choice("dataset", name, DATASETS)
    root = Path(root) if root else default_root()
    cache = root / "prepared" / f"{name}-{'train' if train else 'test'}.pt"
    if cache.parent.is_dir():  # what a writer killed mid-write left (a live writer's file is kept)
        clean_temporaries(cache.parent)
    code = source_digest("data")   # the code that prepared it: an edit to it (a crop, a draw) prepares again
    if cache.exists():
        try:  # digest-checked: a damaged cache is rebuilt from the source, never trusted
            blob = load_verified(cache)
            if blob.get("code") == code:
                return blob["x"], blob["y"]
        except (Damaged, OSError, KeyError, TypeError, AttributeError):
            cache.unlink(missing_ok=True)
    x, y = _SOURCES[name](root, train)
    try:
        save_verified({"x": x, "y": y, "code": code}, cache)
    except OSError as e:
        raise DataFolderError(f"cannot write the prepared data {cache} ({e.strerror}). Fix: give a writable "
                              f"data folder with FRAGLIB_DATA") from e
    return x, y


# -- a run's data -----------------------------------------------------------------------------
@dataclass
class RunData:
    """The tensors one run trains and is measured on (all uint8 images, int64 labels)."""

    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor | None        # None under the paper's choose-on-test protocol
    y_val: torch.Tensor | None
    x_test: torch.Tensor
    y_test: torch.Tensor
    x_full: torch.Tensor              # the full balanced training set (RQ1's re-training)
    y_full: torch.Tensor
    spec: DatasetSpec
    train_index: torch.Tensor | None = None   # x_train == x_full[train_index] (None: not a subset)
    val_index: torch.Tensor | None = None     # x_val == x_full[val_index]

    @property
    def num_classes(self) -> int:
        return len(self.spec.classes)

    def train_counts(self) -> list[int]:
        return torch.bincount(self.y_train, minlength=self.num_classes).tolist()


def _subsample(x, y, per_class: int | None, gen):
    if per_class is None:
        return x, y
    C = int(y.max()) + 1
    counts = [min(per_class, int((y == c).sum())) for c in range(C)]
    idx = torch.cat(per_class_draw(y, counts, gen))
    return x[idx], y[idx]


def make_run_data(config: RunConfig, root: Path | None = None) -> RunData:
    """Apply the run's imbalance (and validation split) to the dataset; test stays balanced."""
    spec, reg = SPECS[config.dataset], config.regime
    gen = torch.Generator().manual_seed(config.data_seed)
    x_full, y_full = _subsample(*load_source(config.dataset, True, root), reg.max_per_class, gen)
    x_test, y_test = _subsample(*load_source(config.dataset, False, root), reg.test_per_class, gen)
    C = len(spec.classes)
    rank = torch.empty(C, dtype=y_full.dtype)          # each class relabelled by its imbalance rank
    rank[torch.tensor(config.order())] = torch.arange(C, dtype=y_full.dtype)
    y_full, y_test = rank[y_full], rank[y_test]        # (the paper's order: unchanged)
    n_max = int(torch.bincount(y_full, minlength=C).min())
    counts = imbalance_counts(n_max, C, config.imbalance_ratio, config.imbalance_type)
    kept = per_class_draw(y_full, counts, gen)
    if config.selection == "val":  # the same share of every class: val has the same imbalance
        n_val = [max(1, round(reg.val_fraction * n)) for n in counts]
        if any(n_val[c] >= counts[c] for c in range(C)):
            raise ValueError(f"class counts {counts} are too small to hold out a validation split")
        val_idx = torch.cat([k[:v] for k, v in zip(kept, n_val)])
        train_idx = torch.cat([k[v:] for k, v in zip(kept, n_val)])
        x_val, y_val = x_full[val_idx], y_full[val_idx]
    else:
        train_idx, val_idx, x_val, y_val = torch.cat(kept), None, None, None
    return RunData(x_full[train_idx], y_full[train_idx], x_val, y_val, x_test, y_test,
                   x_full, y_full, spec, train_idx, val_idx)


# -- batched augmentation and normalisation ---------------------------------------------------
def augment(x: torch.Tensor, padding: int, flip: bool, gen: torch.Generator) -> torch.Tensor:
    """Random crop after zero padding and random horizontal flip, for a whole batch at once.

    Random numbers come from `gen` (on the CPU) so a run is reproducible on any device."""
    B, C, H, W = x.shape
    if padding:
        i = torch.randint(0, 2 * padding + 1, (B,), generator=gen).to(x.device)
        j = torch.randint(0, 2 * padding + 1, (B,), generator=gen).to(x.device)
        xp = F.pad(x, (padding,) * 4)
        rows = (i[:, None] + torch.arange(H, device=x.device))[:, None, :, None]
        cols = (j[:, None] + torch.arange(W, device=x.device))[:, None, None, :]
        x = xp[torch.arange(B, device=x.device)[:, None, None, None],
               torch.arange(C, device=x.device)[None, :, None, None], rows, cols]
    if flip:
        mask = (torch.rand(B, generator=gen) < 0.5).to(x.device)[:, None, None, None]
        x = torch.where(mask, x.flip(3), x)
    return x


def normalize(x: torch.Tensor, spec: DatasetSpec) -> torch.Tensor:
    """uint8 images to normalised float32."""
    mean = torch.tensor(spec.mean, device=x.device).view(1, -1, 1, 1)
    std = torch.tensor(spec.std, device=x.device).view(1, -1, 1, 1)
    return (x.float() / 255.0 - mean) / std


