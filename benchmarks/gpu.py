"""The paper profile on a GPU: training throughput of ResNet-32 on CIFAR-10-LT sized data, one run
and several runs packed on one GPU, and the projected time of a 200-epoch run and of the whole
paper matrix.

    .venv/bin/python benchmarks/gpu.py | tee benchmarks/gpu.txt

Targets (issue 21): >= 50,000 training images/s in aggregate per H100-class GPU, and a 200-epoch
CIFAR-10-LT run (12,406 images, ResNet-32) in <= 90 s.

What runs is fraglib's own trainer step, as `train.py` takes it (data on the device, uint8 images
normalised on the fly, the paper's augmentation: random crop with padding 4 and horizontal flip,
batch 128, SGD with momentum, the precision `auto` resolves to: bf16 on a GPU with bf16 units),
on random uint8 images of CIFAR-10's shape (no download: the throughput does not depend on the
pixels). Beside it, the usual reference-code loop on the same GPU (per-image PIL transforms in
DataLoader workers): the pipeline ratio for ResNet-32, which a CPU cannot show (there the network's
own compute is 98% of a step; benchmarks/train_throughput.txt). "Packed": N runs as N processes on the same GPU at once (each its own CUDA context), the
way the local executor places several runs per GPU. Without a GPU it says so and exits 0.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

CIFAR_LT = 12406                  # CIFAR-10 at 100:1 (book/methods.md, "Data")
EPOCHS = 200


def timed(step, seconds: float, dev) -> float:
    """Images/s of `step()` (one training step; returns its batch size) on `dev`, over `seconds`
    after 20 warm-up steps (kernels chosen, caches and DataLoader workers filled)."""
    import torch
    for _ in range(20):
        step()
    torch.cuda.synchronize(dev)
    done, t0, n = 0, time.perf_counter(), 0
    while True:
        done += step()
        n += 1
        if n % 50 == 0:
            torch.cuda.synchronize(dev)
            if time.perf_counter() - t0 >= seconds:
                return done / (time.perf_counter() - t0)


def measure(seconds: float = 20.0, device: str = "cuda", seed: int = 0, queue=None) -> float:
    """Images/s of fraglib's training step for ResNet-32 on CIFAR-sized uint8 data on `device`."""
    import torch
    from fraglib.config import SPECS, RunConfig
    from fraglib.data import augment, normalize
    from fraglib.device import autocast, pick_device
    from fraglib.losses import build_loss
    from fraglib.models import build_model
    dev = pick_device(device)
    config = RunConfig.make("cifar10", "ce", 100, profile="paper", device=device)
    spec = SPECS["cifar10"]
    g = torch.Generator().manual_seed(seed)
    x = torch.randint(0, 256, (CIFAR_LT, 3, 32, 32), dtype=torch.uint8, generator=g).to(dev)
    y = torch.randint(0, 10, (CIFAR_LT,), generator=g).to(dev)
    torch.manual_seed(seed)
    model = build_model("resnet32", 3, 10).to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    loss_fn = build_loss(config, [1241] * 10).to(dev)
    reg = config.regime

    def step() -> int:
        idx = torch.randint(0, CIFAR_LT, (reg.batch_size,), generator=g).to(dev)
        xb = normalize(augment(x[idx], reg.crop_padding, reg.flip, g), spec).contiguous(
            memory_format=torch.channels_last)
        with autocast(dev, reg.precision):
            logits = model(xb)
        loss = loss_fn(logits, y[idx], 0)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return reg.batch_size

    rate = timed(step, seconds, dev)
    if queue is not None:
        queue.put(rate)
    return rate


def reference(seconds: float = 20.0, workers: int = 8) -> float:
    """Images/s of the usual reference-code loop on the GPU, same network and precision: a dataset
    of uint8 images through per-image PIL transforms (crop with padding 4, flip, to tensor,
    normalise) in DataLoader worker processes, batches copied to the GPU (pinned memory)."""
    import torch
    import torch.nn.functional as F
    from torch.utils.data import DataLoader, Dataset
    from torchvision import transforms
    from fraglib.config import SPECS
    from fraglib.device import autocast, pick_device, resolve_precision
    from fraglib.models import build_model
    dev, spec = pick_device("cuda"), SPECS["cifar10"]
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (CIFAR_LT, 3, 32, 32), dtype=torch.uint8, generator=g)
    y = torch.randint(0, 10, (CIFAR_LT,), generator=g)
    tf = transforms.Compose([transforms.RandomCrop(32, padding=4), transforms.RandomHorizontalFlip(),
                             transforms.ToTensor(), transforms.Normalize(spec.mean, spec.std)])

    class PerImage(Dataset):
        def __len__(self):
            return CIFAR_LT

        def __getitem__(self, i):
            return tf(transforms.functional.to_pil_image(x[i])), int(y[i])

    loader = DataLoader(PerImage(), batch_size=128, shuffle=True, num_workers=workers, pin_memory=True,
                        drop_last=True, persistent_workers=True)
    model = build_model("resnet32", 3, 10).to(dev).to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=2e-4)
    precision = resolve_precision("auto", "cuda")
    batches = iter(())

    def step() -> int:
        nonlocal batches
        try:
            xb, yb = next(batches)
        except StopIteration:            # the next epoch
            batches = iter(loader)
            xb, yb = next(batches)
        xb = xb.to(dev, non_blocking=True).contiguous(memory_format=torch.channels_last)
        yb = yb.to(dev, non_blocking=True)
        with autocast(dev, precision):
            logits = model(xb)
        loss = F.cross_entropy(logits.float(), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return len(yb)

    return timed(step, seconds, dev)


def packed(n: int, seconds: float) -> list[float]:
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=measure, args=(seconds, "cuda", i, q)) for i in range(n)]
    for p in procs:
        p.start()
    rates = [q.get() for _ in procs]
    for p in procs:
        p.join()
    return rates


def main() -> int:
    a = argparse.ArgumentParser()
    a.add_argument("--seconds", type=float, default=20.0)
    a.add_argument("--packed", type=int, nargs="*", default=[2, 4, 8])
    args = a.parse_args()
    import torch
    from fraglib.config import MATRIX, COLLAPSE_RATIOS
    from fraglib.device import capability_line
    if not torch.cuda.is_available():
        print("# no CUDA GPU here: nothing measured (run this on a machine with one)")
        return 0
    print(f"# {capability_line('cuda')}; {torch.cuda.get_device_name()}, torch {torch.__version__}, "
          f"{time.strftime('%Y-%m-%d')}")
    one = measure(args.seconds)
    print(f"one run: {one:,.0f} images/s -> a 200-epoch CIFAR-10-LT run ({CIFAR_LT:,} images) in "
          f"{EPOCHS * CIFAR_LT / one:.0f} s of training steps (target <= 90 s)", flush=True)
    import os
    workers = min(8, len(os.sched_getaffinity(0)))
    ref = reference(args.seconds, workers)
    print(f"reference loop (per-image PIL transforms, DataLoader with {workers} workers, pinned copies): "
          f"{ref:,.0f} images/s -> fraglib's pipeline x{one / ref:.2f} (target >= 1.5x for ResNet-32)", flush=True)
    best = (1, one)
    for n in args.packed:
        rates = packed(n, args.seconds)
        total = sum(rates)
        print(f"{n} runs packed on the GPU: {total:,.0f} images/s in all ({min(rates):,.0f}-{max(rates):,.0f} "
              f"a run) -> each 200-epoch run in {EPOCHS * CIFAR_LT / min(rates):.0f} s", flush=True)
        if total > best[1]:
            best = (n, total)
    n_runs = len({(d, l) for d, l, _ in MATRIX["paper"]}) + len({d for d, _, _ in MATRIX["paper"]}) \
        + len(COLLAPSE_RATIOS["paper"]) + 3
    print(f"aggregate: {best[1]:,.0f} images/s with {best[0]} runs per GPU (target >= 50,000 on an "
          f"H100-class GPU)")
    print(f"the paper matrix, one seed: about {n_runs} runs; if each were CIFAR-10-LT sized, "
          f"{n_runs * EPOCHS * CIFAR_LT / best[1] / 60:.0f} min on this GPU at that aggregate rate "
          f"(the balanced references, 50,000 images, cost 4x a run; CelebA's ResNet-56 more)")
    print(json.dumps({"one_run": round(one), "reference": round(ref), "best_packed": best[0],
                      "aggregate": round(best[1])}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
