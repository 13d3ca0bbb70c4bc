"""Training throughput, two effects measured apart: the data pipeline, and the precision.

1. Pipeline, at the same precision (the one `auto` resolves to on this machine): fraglib's
   trainer (uint8 images in memory, whole-batch crop and flip, channels-last) against the usual
   reference-code loop (a torchvision dataset with per-image PIL transforms through a DataLoader,
   the faster of 0 and 2 workers). A third column runs that loop with channels-last too, so the
   share of the gain that comes from the memory layout alone can be read off.
2. Precision, in fraglib's trainer: `auto` against plain fp32 (and forced bf16, to show what
   `auto` avoids where bf16 would be emulated).

Same network, same images (Fashion-MNIST, 100:1 imbalance), batch 128, random crop (padding 2)
and horizontal flip for every loop (the paper's augmentation). Only the training loop is timed
(fraglib's per-epoch validation pass is not). Each figure is the best of `--repeats` runs.

    .venv/bin/python benchmarks/train_throughput.py | tee benchmarks/train_throughput.txt
"""
from __future__ import annotations

import argparse
import dataclasses
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


def baseline(config, data, n_images, workers, channels_last=False):
    torch.manual_seed(0)
    model = new_model(config, data)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=2e-4)
    loader = DataLoader(PerImage(data.x_train, data.y_train, data.spec, config.regime.crop_padding),
                        batch_size=config.regime.batch_size, shuffle=True, num_workers=workers,
                        drop_last=True, persistent_workers=workers > 0)
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


def ours(config, data, n_images):
    sub = dataclasses.replace(data, x_train=data.x_train[:n_images], y_train=data.y_train[:n_images])
    cfg = dataclasses.replace(config, regime=dataclasses.replace(config.regime, epochs=1, select_from_epoch=0))
    with tempfile.TemporaryDirectory() as tmp:
        return train(cfg, sub, Path(tmp) / "checkpoint.pt", device="cpu", progress=False).images_per_second


def config_for(model: str, precision: str) -> RunConfig:
    # the paper's augmentation (crop and flip) for every loop, on 28-pixel images: padding 2
    return RunConfig.make("fashion-mnist", "ce", 100, profile="quick", model=model, device="cpu",
                          precision=precision, crop_padding=2, flip=True, max_per_class=None)


def best(f, repeats):
    return max(f() for _ in range(repeats))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=2, help="runs per figure (the best is kept)")
    a = parser.parse_args()
    auto = resolve_precision("auto", "cpu")
    for line in machine():
        print(f"# {line}")
    print(f"# torch threads {torch.get_num_threads()}; batch 128; crop (padding 2) + flip; best of "
          f"{a.repeats}")
    print(f"\n1. data pipeline at the same precision ({auto}, what auto resolves to here), images/s")
    print(f"{'model':10s} {'DataLoader loop':>16s} {'+ channels-last':>16s} {'fraglib':>9s} {'ratio':>6s}")
    pipeline = {}
    for model, n in (("smallnet", 6000), ("resnet32", 1500)):
        config = config_for(model, auto)
        data = make_run_data(config)
        base = {w: best(lambda: baseline(config, data, n, w), a.repeats) for w in (0, 2)}
        best_w = max(base, key=base.get)
        base_cl = best(lambda: baseline(config, data, n, best_w, channels_last=True), a.repeats)
        fast = best(lambda: ours(config, data, n), a.repeats)
        pipeline[model] = fast / base[best_w]
        print(f"{model:10s} {base[best_w]:16.0f} {base_cl:16.0f} {fast:9.0f} {pipeline[model]:5.2f}x"
              f"   (DataLoader workers={best_w}; workers=0: {base[0]:.0f}, workers=2: {base[2]:.0f})",
              flush=True)

    print("\n2. precision in fraglib's trainer (small net), images/s")
    data = make_run_data(config_for("smallnet", "fp32"))
    fp32 = best(lambda: ours(config_for("smallnet", "fp32"), data, 6000), a.repeats)
    auto_ips = best(lambda: ours(config_for("smallnet", "auto"), data, 6000), a.repeats)
    bf16 = ours(config_for("smallnet", "bf16"), data, 1000)
    print(f"fp32 {fp32:.0f}; auto (= {auto}) {auto_ips:.0f}; forced bf16 {bf16:.0f}"
          f"{' (emulated on this CPU)' if auto == 'fp32' else ''}", flush=True)
    if config_for("smallnet", "auto") == config_for("smallnet", "fp32"):
        # auto resolved to fp32: one configuration (same digest), so the two are samples of one
        # figure and their difference is noise; the ratio is 1 by construction
        ratio = 1.0
        print(f"auto resolves to fp32 here: the same configuration as fp32; the {abs(auto_ips / fp32 - 1):.0%} "
              f"between the two measurements is run-to-run noise")
    else:
        ratio = auto_ips / fp32
    print(f"\nsummary: pipeline x{pipeline['smallnet']:.2f} smallnet, x{pipeline['resnet32']:.2f} resnet32 "
          f"(same precision); auto precision x{ratio:.2f} vs fp32")


if __name__ == "__main__":
    main()
