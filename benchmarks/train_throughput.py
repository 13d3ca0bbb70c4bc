"""Training throughput: fraglib's trainer vs a plain torchvision DataLoader loop.

Same network, same images (Fashion-MNIST, 100:1 imbalance), same batch size and augmentation
(random crop with padding 2, horizontal flip), in one run. The baseline is the usual
reference-code loop: a torchvision dataset with per-image PIL transforms, a DataLoader
(the faster of 0 and 2 workers is kept), fp32. fraglib keeps uint8 tensors in memory,
augments whole batches, and uses bf16 autocast with channels_last.

    .venv/bin/python benchmarks/train_throughput.py | tee benchmarks/train_throughput.txt

Both time the training loop alone (fraglib's per-epoch validation pass is not counted).
"""
from __future__ import annotations

import argparse
import dataclasses
import platform
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from fraglib.config import RunConfig
from fraglib.data import make_run_data
from fraglib.train import new_model, train


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


def baseline(config, data, n_images, workers):
    torch.manual_seed(0)
    model = new_model(config, data)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=2e-4)
    loader = DataLoader(PerImage(data.x_train, data.y_train, data.spec, config.regime.crop_padding),
                        batch_size=config.regime.batch_size, shuffle=True, num_workers=workers,
                        drop_last=True, persistent_workers=workers > 0)
    model.train()
    seen, t0, warm = 0, None, 2  # the first batches (worker start-up) are not timed
    while True:
        for i, (xb, yb) in enumerate(loader):
            if warm == 0 and t0 is None:
                t0 = time.perf_counter()
            loss = F.cross_entropy(model(xb), yb)
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
    cfg = dataclasses.replace(config, regime=dataclasses.replace(config.regime, epochs=1))
    with tempfile.TemporaryDirectory() as tmp:
        return train(cfg, sub, Path(tmp) / "checkpoint.pt", device="cpu", progress=False).images_per_second


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=None, help="images timed per measurement")
    a = parser.parse_args()
    print(f"# {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads, "
          f"torch {torch.__version__}, {time.strftime('%Y-%m-%d')}")
    print(f"{'model':10s} {'baseline img/s':>15s} {'fraglib img/s':>14s} {'ratio':>6s}")
    for model, n in (("smallnet", 6000), ("resnet32", 2000)):
        n = a.images or n
        config = RunConfig.make("fashion-mnist", "ce", 100, profile="quick", model=model)
        data = make_run_data(config)
        base = {w: baseline(config, data, n, w) for w in (0, 2)}
        best_w = max(base, key=base.get)
        fast = ours(config, data, n)
        print(f"{model:10s} {base[best_w]:15.0f} {fast:14.0f} {fast / base[best_w]:5.2f}x"
              f"   (baseline workers={best_w}; workers=0: {base[0]:.0f}, workers=2: {base[2]:.0f})",
              flush=True)


if __name__ == "__main__":
    main()
