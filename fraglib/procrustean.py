"""Procrustean training (Ye, Zhan, Chao, ICCV 2021), as this book interprets its abstract.

No public implementation exists and only the abstract is at hand, so what follows is *our*
interpretation, not the authors' method (the methods page says so). The abstract: with plain
training the minor classes are under-fitted early (most of their training data predicted as
major classes) and their feature gradients are much larger; the authors "weaken" the major
classes' features so that the network cannot fit them first, with the label kept.

Our reading, per mini-batch:

- every instance of class c is mixed with a random other instance of the batch,
  h' = (1 - lam_c) h + lam_c h[partner], and keeps its label c;
- the mixing strength follows the class frequency: lam_c = strength * (n_c - n_min) / (n_max - n_min),
  so the largest class is mixed most and the smallest classes not at all;
- `site="input"` mixes the normalised images; `site="feature"` mixes an intermediate feature map
  (the end of the extractor's first stage: the small net's second convolution block, a ResNet's
  first stage of blocks), through a forward hook, so the early layers see clean images.

The partner permutation is drawn from the training loop's seeded generator: a run is
reproducible and resumes exactly.
"""
from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn


def mix_strength(counts, strength: float) -> torch.Tensor:
    """(C,) lam_c = strength * (n_c - n_min) / (n_max - n_min): the largest class `strength`, the
    smallest 0 (all 0 when the classes are equal)."""
    n = torch.as_tensor(counts, dtype=torch.float32)
    span = n.max() - n.min()
    if span <= 0:
        return torch.zeros_like(n)
    return strength * (n - n.min()) / span


def mix(h: torch.Tensor, y: torch.Tensor, lam: torch.Tensor, gen: torch.Generator | None = None) -> torch.Tensor:
    """Each instance mixed with a random partner of the batch by its class's strength; the
    labels `y` are not touched (the caller keeps them)."""
    partner = torch.randperm(len(h), generator=gen).to(h.device)
    w = lam.to(h.device, h.dtype)[y].view(-1, *([1] * (h.dim() - 1)))
    return (1 - w) * h + w * h[partner]


def feature_site(model: nn.Module) -> nn.Module:
    """The module whose output is the intermediate feature map mixed under `site="feature"`."""
    ext = model.extractor
    if hasattr(ext, "body"):     # SmallExtractor: conv-bn-relu x 4; after the second block
        return ext.body[5]
    blocks = ext.blocks          # ResNet: the last block of the first stage
    return blocks[len(blocks) // 3 - 1]


@contextmanager
def feature_mixing(model: nn.Module, y: torch.Tensor, lam: torch.Tensor, gen: torch.Generator):
    """Mix the intermediate feature map of one forward pass (a hook, removed afterwards)."""
    handle = feature_site(model).register_forward_hook(lambda mod, inp, out: mix(out, y, lam, gen))
    try:
        yield
    finally:
        handle.remove()
