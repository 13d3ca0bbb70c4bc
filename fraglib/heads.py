"""A fresh linear head trained on frozen feature embeddings.

Used by RQ1 (a fresh head re-trained on the full balanced set's fe) and by the EOS chapter
(phase 3: the phase-1 head fine-tuned on a re-balanced embedding set, `init=(W, b)`; a fresh head
beside it).
Minibatch SGD with a cosine learning-rate decay; deterministic for a seed on the CPU.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

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
    """Train W (C, H), b (C,) with cross-entropy on (fe, y); start from `init` = (W, b) or Kaiming."""
    fe_t = torch.as_tensor(np.asarray(fe), dtype=torch.float32)
    y_t = torch.as_tensor(np.asarray(y), dtype=torch.long)
    gen = torch.Generator().manual_seed(seed)
    H = fe_t.shape[1]
    if init is None:
        W = torch.randn(num_classes, H, generator=gen) * (2.0 / H) ** 0.5
        b = torch.zeros(num_classes)
    else:
        W, b = (torch.as_tensor(np.asarray(a), dtype=torch.float32).clone() for a in init)
    W.requires_grad_(True)
    b.requires_grad_(True)
    opt = torch.optim.SGD([W, b], lr=regime.lr, momentum=regime.momentum, weight_decay=regime.weight_decay)
    steps_per_epoch = -(-len(y_t) // regime.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, regime.epochs * steps_per_epoch)
    for _ in range(regime.epochs):
        perm = torch.randperm(len(y_t), generator=gen)
        for i in range(0, len(y_t), regime.batch_size):
            idx = perm[i:i + regime.batch_size]
            loss = F.cross_entropy(fe_t[idx] @ W.T + b, y_t[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
    return W.detach().numpy(), b.detach().numpy()


def head_bac(W, b, fe, y, num_classes: int) -> float:
    pred = (np.asarray(fe) @ np.asarray(W).T + np.asarray(b)).argmax(1)
    return balanced_accuracy(y, pred, num_classes)
