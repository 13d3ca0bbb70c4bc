"""The training loop: in-memory tensors, batched augmentation, checkpoints, resume.

Read top to bottom: `train` builds the network, the optimiser and the loss, resumes from the
checkpoint when there is one, and runs the epochs. After every epoch it writes a checkpoint
atomically, so a run killed at any moment resumes from its last finished epoch. Random
numbers for batch order and augmentation come from a generator seeded by (seed, epoch), so a
resumed run on the CPU ends exactly as an uninterrupted one.
"""
from __future__ import annotations

import time
from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np
import torch
from tqdm.auto import tqdm

from .config import RunConfig, network_args, uses_cosine_head
from .data import RunData, augment, normalize
from .device import autocast, pick_device
from .fileio import Damaged, load_verified, save_verified
from .infer import predict
from .procrustean import feature_mixing, mix, mix_strength
from .losses import build_loss
from .measures import balanced_accuracy, halves, per_class_accuracy
from .models import Net, build_model, fingerprint


# the test set at the selection window's epochs (the paper's protocol beside ours: issue 27's
# selection gap) in batches of 512 rather than the loop's 1000: the same logits bit for bit
# (tests/test_embed.py checks it on the machine that runs the tests) and 1.4x the images a second
# on one thread of the 2-core CPUs (Intel Xeon with AMX, smallnet, bf16: 0.34 against 0.48 s for
# the 10,000 test images, the median of 12 interleaved passes; benchmarks/book_build.txt, session 12)
WINDOW_TEST_BATCH = 512


def epoch_generator(seed: int, epoch: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + epoch)


@dataclass
class TrainResult:
    best_state: dict            # the chosen epoch's weights (CPU tensors)
    best_epoch: int
    best_bac: float             # balanced accuracy on the selection split at that epoch
    history: list               # one dict per epoch
    seconds: float              # training wall time (with validation), this process and earlier ones
    images_per_second: float    # training images per second of the training loop alone
    # the other model-selection rules' epochs (the multiverse's `selection`): name -> (epoch, weights);
    # "test-best" (the paper's protocol, inside the same selection window) and "last"
    alternatives: dict = field(default_factory=dict)


class Interrupted(RuntimeError):
    """Raised by `train(stop_after_epoch=...)`: stands in for a killed process in tests."""


def batch_class_sums(logits: torch.Tensor, y: torch.Tensor, fe_grad: torch.Tensor, num_classes: int,
                     num_major: int) -> torch.Tensor:
    """(4, C) per-class sums over one batch: instances, correct predictions, predictions of a major
    class (0 .. num_major-1), and the norm of each instance's own loss gradient with respect to
    its fe (`fe_grad` is the gradient of the batch's mean loss, so each row is scaled by the batch
    size)."""
    pred = logits.detach().argmax(1)
    norms = fe_grad.detach().float().norm(dim=1) * len(y)
    rows = [torch.ones_like(norms), (pred == y).float(), (pred < num_major).float(), norms]
    return torch.stack([torch.bincount(y, weights=r, minlength=num_classes) for r in rows])


def new_model(config: RunConfig, data: RunData) -> Net:
    torch.manual_seed(config.seed)  # weight init is the only user of the global generator
    return build_model(config.model, data.spec.channels, data.num_classes,
                       cosine_head=uses_cosine_head(config.loss), scale=config.ldam_scale)


def network_fingerprint(config: RunConfig) -> str:
    """`models.fingerprint` of the network this config trains, as the code stands today (its
    structure: built without its Kaiming draws, nothing drawn from the global random generator)."""
    return _fingerprint(*network_args(config))


@lru_cache(maxsize=None)
def _fingerprint(model: str, channels: int, classes: int, cosine: bool, scale: float) -> str:
    # on the CPU (the meta device sends the cosine head's renorm_ through torch._refs, which imports
    # torch._dynamo: 3 s of every command), with the global random generator forked: nothing drawn from it
    with torch.random.fork_rng(devices=[]):
        return fingerprint(build_model(model, channels, classes, cosine_head=cosine, scale=scale, init=False))


@dataclass
class LoopState:
    """Where the training loop stands, saved in every checkpoint (as a plain dict) and resumed."""

    epoch: int = 0                         # the next epoch to train
    history: list = field(default_factory=list)   # one entry per finished epoch
    best_state: dict | None = None         # the chosen epoch's weights so far (CPU tensors)
    best_epoch: int = -1
    best_bac: float = -1.0                 # its selection BAC (validation, or test under the paper's protocol)
    test_best_state: dict | None = None    # with validation selection: the test-best epoch of the same window
    test_best_epoch: int = -1              # (the paper's protocol, kept for the selection gap; book/methods.md)
    test_best_bac: float = -1.0
    seconds: float = 0.0                   # wall time of the finished epochs, evaluation included
    loop_seconds: float = 0.0              # ... of their training passes alone
    images: int = 0                        # training images seen (for images per second)


def _start(config: RunConfig, data: RunData, device):
    """A new network (seeded), its optimiser and an empty training state."""
    reg = config.regime
    # channels_last at every precision: 1.3x faster in fp32 too (2-core AVX2 CPU, small net)
    model = new_model(config, data).to(device).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=reg.lr, momentum=reg.momentum, weight_decay=reg.weight_decay)
    return model, opt, LoopState()


def _resume(config: RunConfig, data: RunData, checkpoint, device):
    """The network, optimiser and training state to go on from: the checkpoint's, when it
    verifies and fits this network; a fresh start otherwise (saying why, in one line)."""
    model, opt, state = _start(config, data, device)
    if not checkpoint.exists():
        return model, opt, state
    try:  # digest-checked; and it must hold what a resume needs
        saved = load_verified(checkpoint, weights_only=False)
        if not (isinstance(saved, dict) and {"model", "optimizer", "state"} <= set(saved)):
            raise Damaged(checkpoint, "does not hold a model, an optimizer and a training state")
    except (Damaged, OSError) as e:  # a damaged checkpoint is never trusted: start over
        print(f"checkpoint not used, training from scratch: {e}")
        checkpoint.unlink(missing_ok=True)
        return model, opt, state
    network = network_fingerprint(config)
    if saved.get("network") != network:   # the same shapes can be another function (a stride)
        before = ("was written by another version of the network (models.py changed since)" if saved.get("network")
                  else "was written before checkpoints recorded their network, which cannot be checked")
        print(f"checkpoint not used, training from scratch: {checkpoint} {before}")
        return model, opt, state
    try:
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["optimizer"])
        if not (isinstance(saved["state"], dict) and {"epoch", "history", "best_state"} <= set(saved["state"])):
            raise ValueError("no training state")
        return model, opt, LoopState(**saved["state"])
    except (RuntimeError, ValueError, KeyError, TypeError) as e:   # e.g. models.py changed since
        print(f"checkpoint not used, training from scratch: {checkpoint} does not fit this network "
              f"and optimiser (the code changed since it was written: {str(e).splitlines()[0][:120]})")
        return _start(config, data, device)


def _train_epoch(model: Net, opt, loss_fn, config: RunConfig, data: RunData, x_train, y_train, epoch: int,
                 device, progress: bool):
    """One pass over the training set: (summed loss, (4, C) per-class sums of `batch_class_sums`).
    Batch order, augmentation and Procrustean partners come from the epoch's seeded generator."""
    reg, n, C = config.regime, len(x_train), data.num_classes
    lam = mix_strength(data.train_counts(), config.procrustean_strength)
    gen = epoch_generator(config.seed, epoch)
    perm = torch.randperm(n, generator=gen).to(device)
    model.train()
    total_loss = torch.zeros((), device=device)
    sums = torch.zeros(4, C, device=device)   # seen, correct, predicted major, |dL/dfe|
    bar = tqdm(range(0, n, reg.batch_size), desc=f"epoch {epoch + 1}/{reg.epochs}", unit="batch",
               disable=not progress, leave=False)
    for i in bar:
        idx = perm[i:i + reg.batch_size]
        xb = normalize(augment(x_train[idx], reg.crop_padding, reg.flip, gen), data.spec)
        xb = xb.contiguous(memory_format=torch.channels_last)
        yb = y_train[idx]
        if config.procrustean == "input":
            xb = mix(xb, yb, lam, gen)
        with autocast(device, reg.precision), (
                feature_mixing(model, yb, lam, gen) if config.procrustean == "feature" else nullcontext()):
            fe = model.features(xb)
            fe.retain_grad()
            logits = model.head(fe)
        loss = loss_fn(logits, yb, epoch)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        total_loss += loss.detach() * len(idx)
        sums += batch_class_sums(logits, yb, fe.grad, C, len(halves(C)[0]))   # major: the first half
    bar.close()
    return total_loss.item(), sums


def clean_class_sums(model: Net, loss_fn, data: RunData, x, y, epoch: int, device, precision: str,
                     batch_size: int = 1000) -> torch.Tensor:
    """(4, C) `batch_class_sums` over the clean training images (no augmentation, no mixing, eval
    mode): what the network does with the images themselves, not with the batches it trains on.
    The fe-gradient is of the training loss, through the head only (the extractor is not touched)."""
    model.eval()
    C = data.num_classes
    sums = torch.zeros(4, C, device=device)
    for i in range(0, len(x), batch_size):
        xb = normalize(x[i:i + batch_size], data.spec).contiguous(memory_format=torch.channels_last)
        yb = y[i:i + batch_size]
        with torch.no_grad(), autocast(device, precision):
            fe = model.features(xb)
        fe = fe.float().requires_grad_()
        logits = model.head(fe)
        grad, = torch.autograd.grad(loss_fn(logits, yb, epoch), fe)
        sums += batch_class_sums(logits, yb, grad, C, len(halves(C)[0]))
    return sums


def _history_entry(config: RunConfig, epoch: int, loss: float, sums, n: int, sel_bac: float, seconds: float,
                   loop_seconds: float, clean=None) -> dict:
    per_class = (sums[1:] / sums[0].clamp(min=1)).cpu()
    extra = {}
    if clean is not None:   # the same three per-class figures on the clean training images
        c = (clean[1:] / clean[0].clamp(min=1)).cpu()
        extra = {f"clean_{k}": [round(a, 6) for a in c[j].tolist()]
                 for j, k in enumerate(("class_acc", "major_share", "fe_grad_norm"))}
    return {**extra, "epoch": epoch, "lr": config.regime.lr_at(epoch), "loss": loss / n,
            "train_acc_augmented": sums[1].sum().item() / n,
            # per class, from the training pass itself (augmented, train mode)
            "train_class_acc_augmented": [round(a, 6) for a in per_class[0].tolist()],
            # share of the class's images predicted as a major class (0 .. C//2-1)
            "major_share": [round(a, 6) for a in per_class[1].tolist()],
            # mean norm of each image's loss gradient with respect to its fe
            "fe_grad_norm": [round(a, 6) for a in per_class[2].tolist()],
            f"{config.selection}_bac": sel_bac, "seconds": seconds, "train_loop_seconds": loop_seconds}


CPU_THREADS = 1   # a CPU run trains on one thread: its weights then do not depend on the machine's
                  # core count or on how many runs share it (kernels sum in another order on more
                  # threads: the same quick run on 1 and 2 threads gave different model digests);
                  # the book and the cluster run several runs at once instead


@contextmanager
def cpu_threads(device, n: int = CPU_THREADS):
    """torch's intra-op threads pinned to `n` while training on the CPU (restored after)."""
    if device.type != "cpu":
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train(config: RunConfig, data: RunData, checkpoint, device=None, progress: bool = True,
          stop_after_epoch: int | None = None) -> TrainResult:
    """Train from the checkpoint (or from the start) to the last epoch, writing a checkpoint after
    every epoch; the best epoch (selection BAC, from `select_from_epoch` on) is kept. On the CPU,
    on CPU_THREADS threads, so a run is the same whichever command or machine of a kind trains it."""
    device = pick_device(device)
    with cpu_threads(device):
        return _train(config, data, checkpoint, device, progress, stop_after_epoch)


def _train(config: RunConfig, data: RunData, checkpoint, device, progress: bool,
           stop_after_epoch: int | None) -> TrainResult:
    reg = config.regime
    loss_fn = build_loss(config, data.train_counts()).to(device)
    x_sel, y_sel = (data.x_val, data.y_val) if config.selection == "val" else (data.x_test, data.y_test)
    model, opt, state = _resume(config, data, checkpoint, device)
    x_train, y_train = data.x_train.to(device), data.y_train.to(device)
    n = len(x_train)
    for epoch in range(state.epoch, reg.epochs):
        t0 = time.perf_counter()
        for group in opt.param_groups:
            group["lr"] = reg.lr_at(epoch)
        loss, sums = _train_epoch(model, opt, loss_fn, config, data, x_train, y_train, epoch, device, progress)
        loop_seconds = time.perf_counter() - t0
        clean = (clean_class_sums(model, loss_fn, data, x_train, y_train, epoch, device, reg.precision)
                 if config.clean_history else None)
        pred = predict(model, x_sel, data.spec, device, reg.precision, batch_size=1000).argmax(1).numpy()
        sel_bac = balanced_accuracy(y_sel.numpy(), pred, data.num_classes)
        in_window = epoch >= reg.select_from_epoch
        test_bac = None
        if in_window and config.selection == "val":   # the paper's protocol, beside ours: the selection gap
            pred_t = predict(model, data.x_test, data.spec, device, reg.precision,
                             batch_size=WINDOW_TEST_BATCH).argmax(1).numpy()
            test_bac = balanced_accuracy(data.y_test.numpy(), pred_t, data.num_classes)
        seconds = time.perf_counter() - t0
        state.seconds += seconds
        state.loop_seconds += loop_seconds
        state.images += n
        entry = _history_entry(config, epoch, loss, sums, n, sel_bac, seconds, loop_seconds, clean)
        if test_bac is not None:
            entry["test_bac"] = test_bac
        state.history.append(entry)
        if in_window and sel_bac > state.best_bac:
            state.best_bac, state.best_epoch = sel_bac, epoch
            state.best_state = _cpu(model)
        if test_bac is not None and test_bac > state.test_best_bac:
            state.test_best_bac, state.test_best_epoch = test_bac, epoch
            state.test_best_state = _cpu(model)
        state.epoch = epoch + 1
        if progress:
            tqdm.write(f"epoch {epoch + 1}/{reg.epochs}  loss {loss / n:.4f}  "
                       f"{config.selection} BAC {sel_bac:.4f}  {n / loop_seconds:,.0f} img/s")
        save_verified({"model": model.state_dict(), "optimizer": opt.state_dict(),
                       "state": asdict(state), "network": network_fingerprint(config)}, checkpoint)
        if stop_after_epoch is not None and epoch + 1 == stop_after_epoch and epoch + 1 < reg.epochs:
            raise Interrupted(f"stopped after epoch {epoch + 1} as asked")
    last = reg.epochs - 1
    alternatives = {"last": (last, None if state.best_epoch == last else _cpu(model))}
    if state.test_best_epoch >= 0:   # the same epoch as the chosen one: the same weights, not kept twice
        alternatives["test-best"] = (state.test_best_epoch,
                                     None if state.test_best_epoch == state.best_epoch else state.test_best_state)
    return TrainResult(state.best_state, state.best_epoch, state.best_bac, state.history,
                       state.seconds, state.images / max(state.loop_seconds, 1e-9), alternatives)


def _cpu(model) -> dict:
    """A copy of the model's weights on the CPU."""
    return {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}


def evaluate(model: Net, data: RunData, device=None, only: tuple = ("train", "test", "val")) -> dict:
    """BAC and per-class accuracy on the (clean, un-augmented) train, val and test sets (those
    of them in `only`)."""
    device = pick_device(device)
    model = model.to(device)
    out = {}
    splits = {"train": (data.x_train, data.y_train), "test": (data.x_test, data.y_test)}
    if data.x_val is not None:
        splits["val"] = (data.x_val, data.y_val)
    for name, (x, y) in splits.items():
        if name in only:
            out.update(scores(name, y.numpy(), predict(model, x, data.spec, device).argmax(1).numpy(),
                              data.num_classes))
    return out


def scores(name: str, y: np.ndarray, pred: np.ndarray, num_classes: int) -> dict:
    """`evaluate`'s figures for one split from its labels and predictions: <name>_bac,
    <name>_class_acc and <name>_counts."""
    return {f"{name}_bac": balanced_accuracy(y, pred, num_classes),
            f"{name}_class_acc": per_class_accuracy(y, pred, num_classes).tolist(),
            f"{name}_counts": np.bincount(y, minlength=num_classes).tolist()}
