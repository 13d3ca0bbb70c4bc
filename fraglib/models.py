"""Networks split into an extractor and a head by construction.

`Net.features(x)` is the paper's fe: the extractor's output after its last ReLU and global
average pooling (non-negative, H = 64 for every network here). `Net.head` is a linear layer
(with bias) or LDAM's cosine layer, whose `operands(fe)` return the effective (fe', W', b)
such that logits = (fe' * W').sum(-1) + b exactly as the head computes them (book/methods.md, "Embeddings").
"""
from __future__ import annotations

import hashlib
import inspect

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import MODELS, check_choice
from .provenance import code_tokens


class BasicBlock(nn.Module):
    """CIFAR ResNet block with option-A shortcut: subsample and zero-pad channels."""

    def __init__(self, in_planes: int, planes: int, stride: int):
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.pad = planes - in_planes if (stride != 1 or in_planes != planes) else 0
        self.stride = stride

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        short = x
        if self.stride != 1 or self.pad:
            short = x[:, :, ::self.stride, ::self.stride]
            short = F.pad(short, (0, 0, 0, 0, self.pad // 2, self.pad - self.pad // 2))
        return F.relu(out + short)


class ResNetExtractor(nn.Module):
    """He et al.'s CIFAR ResNet (depth 6n+2: 32 -> n=5, 56 -> n=9), 16/32/64 channels."""

    def __init__(self, depth: int, in_channels: int):
        super().__init__()
        assert (depth - 2) % 6 == 0, f"CIFAR ResNet depth must be 6n+2, got {depth}"
        n = (depth - 2) // 6
        self.stem = nn.Sequential(nn.Conv2d(in_channels, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16),
                                  nn.ReLU())
        layers, planes_in = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            for b in range(n):
                layers.append(BasicBlock(planes_in, planes, stride if b == 0 else 1))
                planes_in = planes
        self.blocks = nn.Sequential(*layers)
        self.dim = 64

    def forward(self, x):
        return F.adaptive_avg_pool2d(self.blocks(self.stem(x)), 1).flatten(1)


class SmallExtractor(nn.Module):
    """A four-conv net for the CPU profile: same fe shape (H = 64, after ReLU and pooling).

    Widths 32-64-64-64, the first two convolutions with stride 2 (28 x 28 images: 14, then 7
    pixels a side). Measured on the quick profile's runs (2-core CPUs, issue 20): the same widths
    with the first convolution at full resolution cost 1.6x the multiply-adds and trained 2x
    slower (2,000 against 4,000 images/s a core, bf16), and both fit every class of every quick
    run after 40 epochs; a narrower 16-32-64-64 net fitted only 59-71% of the rarest classes (too
    little capacity to memorise them), and 30-34 epochs of this one left LDAM-DRW's shirt class at
    78-88% and step imbalance's minor classes at 33-67%."""

    def __init__(self, in_channels: int):
        super().__init__()

        def cbr(i, o, s):
            return [nn.Conv2d(i, o, 3, s, 1, bias=False), nn.BatchNorm2d(o), nn.ReLU()]

        self.body = nn.Sequential(*cbr(in_channels, 32, 2), *cbr(32, 64, 2), *cbr(64, 64, 1),
                                  *cbr(64, 64, 1))
        self.dim = 64

    def forward(self, x):
        return F.adaptive_avg_pool2d(self.body(x), 1).flatten(1)


class LinearHead(nn.Linear):
    """logits = fe @ W.T + b."""

    def operands(self, fe: torch.Tensor):
        return fe, self.weight, self.bias


class CosineHead(nn.Module):
    """LDAM's normalised linear layer: logits = s * cos(fe, W_c), no bias.

    The scale s lives here (not in the loss) so that the model's own logits equal
    sum_h ce + b with the effective operands s * fe/|fe| and W/|W|."""

    def __init__(self, in_features: int, out_features: int, scale: float):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_features, in_features).uniform_(-1, 1))
        self.weight.data.renorm_(2, 0, 1e-5).mul_(1e5)  # LDAM-DRW's init
        self.scale = scale

    def operands(self, fe: torch.Tensor):
        fe_eff = self.scale * F.normalize(fe, dim=1)
        return fe_eff, F.normalize(self.weight, dim=1), torch.zeros(self.weight.shape[0],
                                                                    device=fe.device, dtype=fe.dtype)

    def forward(self, fe):
        return self.scale * F.normalize(fe, dim=1) @ F.normalize(self.weight, dim=1).T


class Net(nn.Module):
    def __init__(self, extractor: nn.Module, head: nn.Module):
        super().__init__()
        self.extractor, self.head = extractor, head

    def features(self, x):
        return self.extractor(x)

    def forward(self, x):
        return self.head(self.extractor(x))


def _kaiming(m):
    if isinstance(m, (nn.Conv2d, nn.Linear)):
        nn.init.kaiming_normal_(m.weight)


def build_model(name: str, in_channels: int, num_classes: int, cosine_head: bool = False,
                scale: float = 30.0, init: bool = True) -> Net:
    """The network; `init=False` leaves the Kaiming draws out (its structure alone, for the
    fingerprint: on the meta device those draws import torch._dynamo, 3 s of every command)."""
    check_choice("model", name, MODELS)
    if name == "smallnet":
        extractor = SmallExtractor(in_channels)
    else:
        extractor = ResNetExtractor(int(name.removeprefix("resnet")), in_channels)
    if init:
        extractor.apply(_kaiming)
    if cosine_head:
        head = CosineHead(extractor.dim, num_classes, scale)
    else:
        head = LinearHead(extractor.dim, num_classes)
        if init:
            _kaiming(head)
    return Net(extractor, head)


def fingerprint(model: nn.Module) -> str:
    """What decides the function a network computes from its weights, as a short digest: its
    structure as torch prints it (every layer with its shape, stride and padding) and the code of
    every class of this module in it, comments, docstrings and layout aside. A stored run records
    the fingerprint of the network that trained it (runs.py); weights loaded into a network whose
    code has changed since (a stride edited: the same parameter shapes, another function) are
    then noticed instead of silently evaluated."""
    parts = [repr(model)]
    for cls in sorted({type(m) for m in model.modules()}, key=lambda c: c.__qualname__):
        if cls.__module__ == __name__:
            parts.append(code_tokens(inspect.getsource(cls)))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:16]

