"""Embedding extraction into the run folder: embeddings.npz.

Arrays (float32 unless said): fe_train / fe_test / fe_full (N, H) extractor outputs for the
run's training set, the balanced test set and the full balanced training set (RQ1), and fe_val
for its validation split (what chose its epoch; EOS's phase-3 grid is chosen on it; (0, H) under
the paper's protocol, which has none); y_train / y_test / y_full / y_val (int64);
logits_train / logits_test (N, C) the model's own logits; weight (C, H) and bias (C,) the head's
parameters (bias zeros where the head has none); and fe_eff_train / fe_eff_test / fe_eff_val /
weight_eff, the head's effective operands (a cosine head's s * fe/|fe| and W/|W|; for a linear
head they are fe and W themselves and are not stored twice).
Always: logits == fe_eff @ weight_eff.T + bias.

A run at another selection rule's epoch (the multiverse, `runs.AtEpoch`) holds fe_full / y_full in
a file of their own (`extract(full=False)`, then `extract_full`), made when an analysis that reads
them asks (RQ1's re-trained head, `figures.Analysis.full`): the other questions read no full set, and
its pass was a third of the other epochs' extraction on the quick book's imbalanced runs.
"""
from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from .fileio import atomic_savez, sha256


@dataclass
class Embeddings:
    fe_train: np.ndarray
    y_train: np.ndarray
    fe_test: np.ndarray
    y_test: np.ndarray
    fe_full: np.ndarray | None     # None where the file holds no full set (another rule's epoch,
    y_full: np.ndarray | None      # see the module's docstring)
    logits_train: np.ndarray
    logits_test: np.ndarray
    weight: np.ndarray
    bias: np.ndarray
    fe_eff_train: np.ndarray
    fe_eff_test: np.ndarray
    weight_eff: np.ndarray
    fe_val: np.ndarray
    y_val: np.ndarray
    fe_eff_val: np.ndarray

    @property
    def num_classes(self) -> int:
        return self.weight.shape[0]

    @property
    def pred_test(self) -> np.ndarray:
        return self.logits_test.argmax(1)

    @classmethod
    def load(cls, path) -> "Embeddings":
        with np.load(path) as z:
            arrays = {k: z[k] for k in z.files}
        for split in ("train", "test", "val"):
            arrays.setdefault(f"fe_eff_{split}", arrays[f"fe_{split}"])
        arrays.setdefault("weight_eff", arrays["weight"])
        return cls(**{f.name: arrays.get(f.name) for f in fields(cls)})

    def with_full(self, path) -> "Embeddings":
        """These embeddings with fe_full / y_full read from `extract_full`'s file."""
        with np.load(path) as z:
            return replace(self, fe_full=z["fe_full"], y_full=z["y_full"])


def extract(model, data, path, device=None, full: bool = True) -> str:
    """Write embeddings.npz atomically (fp32 inference); return its sha256. The training and
    validation sets are subsets of the full balanced set (`RunData.train_index`, `val_index`):
    their rows are read from the full set's pass (the same values: an image's fe does not depend
    on its batch, checked on the CPU in tests/test_embed.py) rather than computed twice. With
    `full=False` the full set is left out (`extract_full` writes it apart) and the training and
    validation sets are passed on their own, unless they are the whole full set (a balanced run:
    the same pass, kept). (torch and the network's modules are imported here, not above: reading
    stored embeddings needs neither.)"""
    import torch
    with torch.no_grad():
        return _extract(model, data, path, device, full)


def extract_full(model, data, path, device=None) -> str:
    """Write the full balanced set's fe_full / y_full alone (fp32, atomically); their sha256."""
    import torch
    from .device import pick_device
    from .infer import predict
    device = pick_device(device)
    with torch.no_grad():
        _, fe = predict(model.to(device).eval(), data.x_full, data.spec, device, precision="fp32", features=True)
    atomic_savez(path, fe_full=fe.numpy(), y_full=data.y_full.numpy())
    return sha256(path)


def _extract(model, data, path, device, keep_full: bool = True) -> str:
    import torch
    from .device import pick_device
    from .models import CosineHead
    from .infer import predict
    device = pick_device(device)
    model = model.to(device).eval()
    covered = sum(len(x) for x in (data.x_train, data.x_val) if x is not None) >= len(data.x_full)
    keep_full = keep_full or covered or data.train_index is None
    full = predict(model, data.x_full, data.spec, device, precision="fp32", features=True) if keep_full else None

    def logits_and_fe(x, index):
        if index is not None and full is not None:
            return tuple(a[index] for a in full)
        if x is None:                                   # no validation split (the paper's protocol)
            return test[0][:0], test[1][:0]
        return predict(model, x, data.spec, device, precision="fp32", features=True)

    no_labels = data.y_full[:0]
    test = logits_and_fe(data.x_test, None)
    splits = {"train": (data.y_train, logits_and_fe(data.x_train, data.train_index)),
              "test": (data.y_test, test),
              "full": (data.y_full, full),
              "val": (no_labels if data.y_val is None else data.y_val, logits_and_fe(data.x_val, data.val_index))}
    if full is None:
        del splits["full"]
    out = {}
    for split, (y, (lg, fe)) in splits.items():
        out[f"fe_{split}"], out[f"y_{split}"] = fe.numpy(), y.numpy()
        if split in ("train", "test"):
            out[f"logits_{split}"] = lg.numpy()
        if split != "full" and isinstance(model.head, CosineHead):
            out[f"fe_eff_{split}"] = model.head.operands(fe.to(device))[0].cpu().numpy()
    head = model.head
    _, w_eff, bias = head.operands(torch.zeros(1, head.weight.shape[1], device=device))
    out["weight"] = head.weight.detach().cpu().numpy()
    out["bias"] = bias.detach().cpu().numpy().astype(np.float32)
    if isinstance(head, CosineHead):
        out["weight_eff"] = w_eff.detach().cpu().numpy()
    atomic_savez(path, **out)
    return sha256(path)
