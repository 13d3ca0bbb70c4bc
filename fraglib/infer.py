"""A network's outputs on a set of images: the one inference pass of the training loop's
evaluations and of the embeddings (`embed.py`), kept apart from the training code so that the
embeddings' cached files follow only the code that makes them (`provenance.source_digest("embed")`
walks this module, not the training loop's, the losses' or the measures')."""
from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from .data import normalize
from .device import autocast

if TYPE_CHECKING:
    from .models import Net

# fp32 inference on the CPU in batches of 128: 1.5-2x the images a second of batches of 1000 on one
# thread (the workers' share of a 2-core CPU; Intel Xeon with AMX, smallnet: 8,800-9,900 against
# 5,200-5,400 a second), each image's outputs bit for bit the same (an image's fe does not depend on
# its batch: tests/test_embed.py). The training loop's own evaluations keep batches of 1000.
FP32_CPU_BATCH = 128


@torch.no_grad()
def predict(model: Net, x: torch.Tensor, data_spec, device, precision="fp32", batch_size=None,
            features: bool = False):
    """Logits (and fe when `features`) for uint8 images, in eval mode, as float32 CPU tensors;
    in batches of `batch_size` (default: FP32_CPU_BATCH for fp32 on the CPU, else 1000)."""
    if batch_size is None:
        batch_size = FP32_CPU_BATCH if precision == "fp32" and torch.device(device).type == "cpu" else 1000
    model.eval()
    logits, fes = [], []
    for i in range(0, len(x), batch_size):
        xb = normalize(x[i:i + batch_size].to(device), data_spec).contiguous(
            memory_format=torch.channels_last)
        with autocast(device, precision):
            fe = model.features(xb)
            lg = model.head(fe)
        logits.append(lg.float().cpu())
        fes.append(fe.float().cpu())
    out_logits = torch.cat(logits) if logits else torch.empty(0)
    return (out_logits, torch.cat(fes)) if features else out_logits
