"""Losses: cross-entropy, focal, LDAM with deferred re-weighting (DRW), and CDT.

Each loss is a small module called as `loss(logits, y, epoch)`; the epoch lets DRW switch its
class weights on. Everything is device-agnostic (weights are buffers that move with `.to`).
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import LOSSES, RunConfig, check_choice


def class_balanced_weights(counts, beta: float) -> torch.Tensor:
    """Cui et al.'s effective-number weights, normalised to sum to C (LDAM-DRW's DRW)."""
    counts = torch.as_tensor(counts, dtype=torch.float64)
    w = (1.0 - beta) / (1.0 - beta ** counts)
    return (w / w.sum() * len(counts)).float()


def ldam_margins(counts, max_margin: float) -> torch.Tensor:
    """Margins proportional to n_j^(-1/4), the largest equal to max_margin."""
    m = torch.as_tensor(counts, dtype=torch.float64) ** -0.25
    return (m * (max_margin / m.max())).float()


class CrossEntropy(nn.Module):
    def forward(self, logits, y, epoch):
        return F.cross_entropy(logits.float(), y)


class Focal(nn.Module):
    """Focal loss as in LDAM-DRW's code: mean of (1 - p_y)^gamma * CE."""

    def __init__(self, gamma: float):
        super().__init__()
        self.gamma = gamma

    def forward(self, logits, y, epoch):
        ce = F.cross_entropy(logits.float(), y, reduction="none")
        p = torch.exp(-ce)
        return ((1 - p) ** self.gamma * ce).mean()


class LDAMDRW(nn.Module):
    """LDAM: subtract s * m_y from the target logit of the cosine head's output (s * cos).
    DRW: class-balanced weights from `drw_start_epoch` on, none before."""

    def __init__(self, counts, max_margin: float, scale: float, beta: float, drw_start_epoch: int):
        super().__init__()
        self.register_buffer("margins", ldam_margins(counts, max_margin) * scale)
        self.register_buffer("drw_weight", class_balanced_weights(counts, beta))
        self.drw_start_epoch = drw_start_epoch

    def forward(self, logits, y, epoch):
        logits = logits.float()
        shifted = logits - F.one_hot(y, logits.shape[1]) * self.margins[y][:, None]
        weight = self.drw_weight if epoch >= self.drw_start_epoch else None
        return F.cross_entropy(shifted, y, weight=weight)


class CDT(nn.Module):
    """Class-dependent temperatures (Ye et al.): during training, logit c is divided by
    a_c = (n_max / n_c)^gamma, so minority classes must reach larger decision values.
    At test time the logits are used as they are."""

    def __init__(self, counts, gamma: float):
        super().__init__()
        counts = torch.as_tensor(counts, dtype=torch.float64)
        self.register_buffer("temperature", ((counts.max() / counts) ** gamma).float())

    def forward(self, logits, y, epoch):
        return F.cross_entropy(logits.float() / self.temperature, y)


def build_loss(config: RunConfig, counts) -> nn.Module:
    check_choice("loss", config.loss, LOSSES)
    if config.loss == "ce":
        return CrossEntropy()
    if config.loss == "focal":
        return Focal(config.focal_gamma)
    if config.loss == "ldam-drw":
        return LDAMDRW(counts, config.ldam_max_margin, config.ldam_scale, config.drw_beta,
                       config.regime.drw_start_epoch)
    return CDT(counts, config.cdt_gamma)
