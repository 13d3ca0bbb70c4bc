"""Speed of every measure on 60,000 x 64 x 10 embeddings (target: under 2 s on a 2-core CPU).

Times `measures.summarize` (all of the paper's figures: top-K, coverage, members, magnitudes,
Tables 3-4, RQ7) on a 60,000-instance training set and a 10,000-instance test set with H = 64
features and C = 10 classes; embeddings are random non-negative, like post-ReLU features.

    .venv/bin/python benchmarks/measures_speed.py | tee benchmarks/measures_speed.txt
"""
from __future__ import annotations

import platform
import time
from types import SimpleNamespace

import numpy as np

from fraglib.measures import summarize


def main(repeats: int = 5):
    rng = np.random.default_rng(0)
    N, N_test, H, C = 60_000, 10_000, 64, 10
    W = rng.normal(size=(C, H)).astype(np.float32)
    fe = np.maximum(rng.normal(size=(N, H)), 0).astype(np.float32)
    fe_test = np.maximum(rng.normal(size=(N_test, H)), 0).astype(np.float32)
    b = rng.normal(size=C).astype(np.float32)
    emb = SimpleNamespace(fe_train=fe, fe_eff_train=fe, y_train=rng.integers(0, C, N), fe_test=fe_test,
                          fe_eff_test=fe_test, y_test=rng.integers(0, C, N_test),
                          pred_test=(fe_test @ W.T + b).argmax(1), weight_eff=W, bias=b)
    counts = np.bincount(emb.y_train, minlength=C)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        summarize(emb, counts)
        times.append(time.perf_counter() - t0)
    print(f"# {platform.machine()}, numpy {np.__version__}, {time.strftime('%Y-%m-%d')}")
    print(f"summarize(train {N} x {H} x {C}, test {N_test}): best {min(times):.3f} s, "
          f"median {sorted(times)[len(times) // 2]:.3f} s over {repeats} runs (target < 2 s)")


if __name__ == "__main__":
    main()
