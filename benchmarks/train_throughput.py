"""Training throughput, two effects measured apart: the data pipeline, and the precision.

1. Pipeline, at the same precision (the one `auto` resolves to on this machine): fraglib's
   trainer (uint8 images in memory, whole-batch crop and flip, channels-last) against the usual
   reference-code loop (a torchvision dataset with per-image PIL transforms through a DataLoader).
   A column runs that loop with channels-last too, so the share of the gain that comes from the
   memory layout alone can be read off. Two budgets:
   a. one core: both loops on one torch thread, the DataLoader without worker processes (fraglib
      trains every CPU run on one thread: `train.CPU_THREADS`);
   b. the whole machine: fraglib as the book trains, one run per core at once (the images/s of
      all of them together), against the reference loop given every core (torch threads = cores,
      the faster of 0 and 2 DataLoader workers).
2. Precision, in fraglib's trainer on one thread: `auto` against plain fp32, for both networks
   (and forced bf16, to show what `auto` avoids where bf16 would be emulated).

Same network, same images (Fashion-MNIST, 100:1 imbalance), batch 128, random crop (padding 2)
and horizontal flip for every loop (the paper's augmentation). Only the training loop is timed
(fraglib's per-epoch validation pass is not). Each figure is the best of `--repeats` runs.

    .venv/bin/python benchmarks/train_throughput.py | tee benchmarks/train_throughput.txt
"""
from __future__ import annotations

import argparse
import dataclasses
import multiprocessing as mp
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parent))
from book_build import machine  # noqa: E402

from fraglib.executors import cores  # noqa: E402
from fraglib.config import RunConfig  # noqa: E402
from fraglib.device import autocast, resolve_precision  # noqa: E402
from fraglib.data import make_run_data  # noqa: E402
from fraglib.train import new_model, train  # noqa: E402


class PerImage(Dataset):
    """What LDAM-DRW's code does: one PIL image at a time through torchvision transforms."""

    def __init__(self, x, y, spec, padding):
        self.x, self.y = x, y
        self.tf = transforms.Compose([
            transforms.RandomCrop(spec.size, padding=padding), transforms.RandomHorizontalFlip(),
            transforms.ToTensor(), transforms.Normalize(spec.mean, spec.std)])

    def __len__(self):
        return len(self.y)

    def __getitem__(self, i):
        img = transforms.functional.to_pil_image(self.x[i])
        return self.tf(img), int(self.y[i])


def reference_loader(config, data, workers: int) -> DataLoader:
    """The reference-code loop's data path: `PerImage` through a shuffling DataLoader."""
    return DataLoader(PerImage(data.x_train, data.y_train, data.spec, config.regime.crop_padding),
                      batch_size=config.regime.batch_size, shuffle=True, num_workers=workers,
                      drop_last=True, persistent_workers=workers > 0)


def baseline(config, data, n_images, workers, channels_last=False, threads=1):
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = new_model(config, data)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=2e-4)
    loader = reference_loader(config, data, workers)
    device = torch.device("cpu")
    model.train()
    seen, t0, warm = 0, None, 2  # the first batches (worker start-up) are not timed
    while True:
        for xb, yb in loader:
            if warm == 0 and t0 is None:
                t0 = time.perf_counter()
            if channels_last:
                xb = xb.contiguous(memory_format=torch.channels_last)
            with autocast(device, config.regime.precision):
                logits = model(xb)
            loss = F.cross_entropy(logits.float(), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            if t0 is not None:
                seen += len(yb)
            warm = max(warm - 1, 0)
            if seen >= n_images:
                return seen / (time.perf_counter() - t0)


def data_alone(config, data, n_images, workers=0, threads=1):
    """Images/s of the reference loop's data path alone (no network): what bounds any pipeline's gain."""
    torch.set_num_threads(threads)
    loader = reference_loader(config, data, workers)
    seen, t0 = 0, time.perf_counter()
    for xb, _ in loader:
        seen += len(xb)
        if seen >= n_images:
            break
    return seen / (time.perf_counter() - t0)


def ours(config, data, n_images):
    """fraglib's trainer on `n_images` images for one epoch (on CPU_THREADS threads, as it trains)."""
    sub = dataclasses.replace(data, x_train=data.x_train[:n_images], y_train=data.y_train[:n_images])
    cfg = dataclasses.replace(config, regime=dataclasses.replace(config.regime, epochs=1, select_from_epoch=0))
    with tempfile.TemporaryDirectory() as tmp:
        return train(cfg, sub, Path(tmp) / "checkpoint.pt", device="cpu", progress=False).images_per_second


def _one_of_many(args):
    model, precision, n_images, start = args
    config = config_for(model, precision)
    data = make_run_data(config)
    start.wait()                       # every process starts training at once
    return ours(config, data, n_images)


def ours_machine(model, precision, n_images, processes):
    """Images/s of `processes` fraglib runs training at once (one per core, as the book does): the
    sum of their training-loop rates, each measured while the others train beside it."""
    ctx = mp.get_context("spawn")
    with ctx.Manager() as manager:
        start = manager.Barrier(processes)
        with ctx.Pool(processes) as pool:
            return sum(pool.map(_one_of_many, [(model, precision, n_images, start)] * processes))


def config_for(model: str, precision: str) -> RunConfig:
    # the paper's augmentation (crop and flip) for every loop, on 28-pixel images: padding 2
    return RunConfig.make("fashion-mnist", "ce", 100, profile="quick", model=model, device="cpu",
                          precision=precision, crop_padding=2, flip=True, max_per_class=6000)  # all of Fashion-MNIST


def best(f, repeats):
    return max(f() for _ in range(repeats))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=3, help="runs per figure (the best is kept)")
    a = parser.parse_args()
    auto = resolve_precision("auto", "cpu")
    n_cores = cores()
    for line in machine():
        print(f"# {line}")
    print(f"# batch 128; crop (padding 2) + flip; best of {a.repeats}")
    print(f"\n1. data pipeline at the same precision ({auto}, what auto resolves to here), images/s")
    print(f"{'model':10s} {'budget':14s} {'DataLoader loop':>16s} {'+ channels-last':>16s} {'fraglib':>9s} {'ratio':>6s}")
    pipeline, ceiling = {}, {}
    sizes = (("smallnet", 8000), ("resnet32", 3000))
    for model, n in sizes:
        config = config_for(model, auto)
        data = make_run_data(config)
        base = best(lambda: baseline(config, data, n, 0, threads=1), a.repeats)
        base_cl = best(lambda: baseline(config, data, n, 0, channels_last=True, threads=1), a.repeats)
        fast = best(lambda: ours(config, data, n), a.repeats)
        pipeline[model, "core"] = fast / base
        share = base / best(lambda: data_alone(config, data, n), a.repeats)   # of the loop's time
        ceiling[model] = (share, 1 / (1 - share))
        print(f"{model:10s} {'one core':14s} {base:16.0f} {base_cl:16.0f} {fast:9.0f} {fast / base:5.2f}x"
              f"   (1 torch thread, DataLoader workers=0; its data path alone is {share:.0%} of its time)", flush=True)
        whole = {w: best(lambda: baseline(config, data, n, w, threads=n_cores), a.repeats) for w in (0, 2)}
        best_w = max(whole, key=whole.get)
        whole_cl = best(lambda: baseline(config, data, n, best_w, channels_last=True, threads=n_cores), a.repeats)
        fast_all = best(lambda: ours_machine(model, auto, n, n_cores), a.repeats)
        pipeline[model, "machine"] = fast_all / whole[best_w]
        print(f"{model:10s} {f'{n_cores} cores':14s} {whole[best_w]:16.0f} {whole_cl:16.0f} {fast_all:9.0f} "
              f"{fast_all / whole[best_w]:5.2f}x   (reference: {n_cores} torch threads, DataLoader workers={best_w}; "
              f"workers=0: {whole[0]:.0f}, workers=2: {whole[2]:.0f}; fraglib: {n_cores} runs at once, one thread each)",
              flush=True)
    torch.set_num_threads(n_cores)
    for model, (share, bound) in ceiling.items():
        print(f"{model}: the reference loop spends {share:.0%} of a core's time in its data path alone (the "
              f"DataLoader iterated without the network); a pipeline that removed all of it would be about "
              f"x{bound:.2f} faster, and what fraglib gains beyond that comes from the rest of its step "
              f"(whole-batch tensors, gradients set to None) and from run-to-run noise")

    print("\n2. precision in fraglib's trainer (one thread, as it trains), images/s")
    ratios = {}
    for model, n in sizes:
        data = make_run_data(config_for(model, "fp32"))
        fp32 = best(lambda: ours(config_for(model, "fp32"), data, n), a.repeats)
        auto_ips = best(lambda: ours(config_for(model, "auto"), data, n), a.repeats)
        bf16 = ours(config_for(model, "bf16"), data, n // 6) if auto == "fp32" else auto_ips
        line = f"{model:10s} fp32 {fp32:.0f}; auto (= {auto}) {auto_ips:.0f}"
        if auto == "fp32":
            line += f"; forced bf16 {bf16:.0f} (emulated on this CPU)"
        if config_for(model, "auto") == config_for(model, "fp32"):
            # auto resolved to fp32: one configuration (same digest), so the two are samples of one
            # figure and their difference is noise; the ratio is 1 by construction
            ratios[model] = 1.0
            line += f": the same configuration as fp32 (the {abs(auto_ips / fp32 - 1):.0%} between them is noise)"
        else:
            ratios[model] = auto_ips / fp32
            line += f": x{ratios[model]:.2f}"
        print(line, flush=True)
    print("\nsummary: pipeline " + ", ".join(
        f"{m} x{pipeline[m, 'core']:.2f} a core / x{pipeline[m, 'machine']:.2f} the machine" for m, _ in sizes)
        + " (same precision); auto precision " + ", ".join(f"{m} x{r:.2f}" for m, r in ratios.items()) + " vs fp32")


if __name__ == "__main__":
    main()
