"""A fresh linear head trained on frozen feature embeddings.

Used by RQ1 (a fresh head re-trained on the full balanced set's fe) and by the EOS chapter
(phase 3: the phase-1 head fine-tuned on a re-balanced embedding set, `init=(W, b)`; a fresh head
beside it).
Minibatch SGD with a cosine learning-rate decay; deterministic for a seed on the CPU.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .measures import balanced_accuracy


@dataclass(frozen=True)
class HeadRegime:
    epochs: int = 30              # passes over the embedding set
    batch_size: int = 256         # embeddings per step
    lr: float = 0.1               # initial learning rate, cosine-decayed to 0
    momentum: float = 0.9         # SGD momentum
    weight_decay: float = 5e-4    # L2 penalty on W and b


def fit_linear_head(fe, y, num_classes: int, seed: int = 0, regime: HeadRegime = HeadRegime(),
                    init=None) -> tuple[np.ndarray, np.ndarray]:
    """Train W (C, H), b (C,) with cross-entropy on (fe, y); start from `init` = (W, b) or Kaiming.

    torch's SGD (momentum, weight decay, no dampening) under a cosine decay of the learning rate
    (CosineAnnealingLR's schedule, in closed form) over minibatches in a seeded order, with the
    cross-entropy's gradient written out: softmax(fe W^T + b) - onehot(y), over the batch. In
    float32 numpy: the steps autograd and torch.optim took (the same heads to float32 rounding:
    no test prediction of the quick book's heads moved), without their per-step overhead (a head
    fits 4x faster, 15x in a fresh process: RQ1's and EOS's heads are fitted at every selection
    epoch of every run)."""
    fe = np.ascontiguousarray(fe, dtype=np.float32)
    y = np.asarray(y, dtype=np.int64)
    gen = torch.Generator().manual_seed(seed)
    n, H = fe.shape
    if init is None:
        W = (torch.randn(num_classes, H, generator=gen) * (2.0 / H) ** 0.5).numpy()
        b = np.zeros(num_classes, np.float32)
    else:
        W, b = (np.array(a, dtype=np.float32) for a in init)
    buf_W, buf_b = np.zeros_like(W), np.zeros_like(b)   # momentum buffers (0: the first step is d_p)
    steps = regime.epochs * -(-n // regime.batch_size)
    step = 0
    for _ in range(regime.epochs):
        perm = torch.randperm(n, generator=gen).numpy()
        for i in range(0, n, regime.batch_size):
            idx = perm[i:i + regime.batch_size]
            x, t = fe[idx], y[idx]
            g = x @ W.T + b                                  # logits, then their softmax in place
            g -= g.max(1, keepdims=True)
            np.exp(g, out=g)
            g /= g.sum(1, keepdims=True)
            g[np.arange(len(t)), t] -= 1.0
            g /= len(t)                                      # d(mean cross-entropy)/d(logits)
            lr = regime.lr * (1 + math.cos(math.pi * step / steps)) / 2
            for p, grad, buf in ((W, g.T @ x, buf_W), (b, g.sum(0), buf_b)):
                grad += regime.weight_decay * p              # weight decay
                buf *= regime.momentum                       # momentum
                buf += grad
                p -= lr * buf
            step += 1
    return W, b


def head_bac(W, b, fe, y, num_classes: int) -> float:
    pred = (np.asarray(fe) @ np.asarray(W).T + np.asarray(b)).argmax(1)
    return balanced_accuracy(y, pred, num_classes)
