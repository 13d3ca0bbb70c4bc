"""Speed of every measure with its bootstrap interval on 60,000 x 64 x 10 embeddings
(target: under 2 s on a 2-core CPU, issue 10).

Times every figure function of the pair questions (`questions.QUESTIONS`: RQ1 ... RQ7 and EOS, each with its
1,000 bootstrap resamples and RQ6's size-matched control) on a study of the full Fashion-MNIST
at 100:1: a balanced run with 60,000 x 64 x 10 training embeddings and an imbalanced run with
the methods page's counts (6,000 ... 60: 14,886 images), sharing 10,000 test embeddings; embeddings are
random non-negative, like post-ReLU features. RQ1's re-trained head and
EOS's samplers are trained heads, computed once per run into its derived/ cache; here their test
predictions are read from a stand-in cache, as the book reads them. Building the resamples is
part of the time.

    .venv/bin/python benchmarks/measures_speed.py | tee benchmarks/measures_speed.txt
"""
from __future__ import annotations

import os
import platform
import time
from types import SimpleNamespace

import numpy as np
import torch

from fraglib.bootstrap import RESAMPLES, pair_resamples
from fraglib.figures import Record
from fraglib.questions import QUESTIONS


def fake_run(rng, counts, N_test, H, C, fe_test, y_test):
    W = rng.normal(size=(C, H)).astype(np.float32)
    b = rng.normal(size=C).astype(np.float32)
    N = sum(counts)
    fe = np.maximum(rng.normal(size=(N, H)), 0).astype(np.float32)
    y = np.repeat(np.arange(C), counts)
    emb = SimpleNamespace(fe_train=fe, fe_eff_train=fe, y_train=y, fe_test=fe_test, fe_eff_test=fe_test,
                          y_test=y_test, pred_test=(fe_test @ W.T + b).argmax(1), weight=W, weight_eff=W,
                          bias=b, num_classes=C)
    pred = lambda: rng.integers(0, C, N_test).tolist()  # noqa: E731
    analyses = {"retrain": {"bac": 0.5, "pred": pred()},
                "eos": [{"sampler": s, "bac": 0.5, "pred": pred(), "class_acc": [0.5] * C, "n_train": N,
                         "sampling_seconds": 0.0, "head_seconds": 0.0} for s in ("none", "crt", "ros", "smote", "eos")]}
    analyses["eos-authors"] = [dict(analyses["eos"][-1], pred=pred())]
    analyses["eos-fresh"] = [dict(analyses["eos"][-1], pred=pred())]
    metrics = {"test_bac": 0.5, "train_class_acc": [1.0] * C, "test_class_acc": [0.5] * C,
               "train_counts": np.bincount(y, minlength=C).tolist()}
    return emb, metrics, analyses


def fake_study(N_test=10_000, H=64, C=10, seed=0):
    """(embeddings, metrics, analyses) of a balanced and an imbalanced stand-in run."""
    from fraglib.config import imbalance_counts
    rng = np.random.default_rng(seed)
    fe_test = np.maximum(rng.normal(size=(N_test, H)), 0).astype(np.float32)
    y_test = np.repeat(np.arange(C), N_test // C)
    bal = fake_run(rng, [6000] * C, N_test, H, C, fe_test, y_test)
    imb = fake_run(rng, imbalance_counts(6000, C, 100, "exp"), N_test, H, C, fe_test, y_test)
    return bal, imb


def main(repeats: int = 5):
    times, parts = [], []
    for _ in range(repeats):
        (eb, mb, _), (ei, mi, analyses) = fake_study()
        t0 = time.perf_counter()
        rs = pair_resamples(eb, ei, B=RESAMPLES, seed=0)   # what Study.record draws once per study
        part = {"resamples": time.perf_counter() - t0}
        rec = Record(embeddings={"balanced": eb, "imbalanced": ei}, metrics={"balanced": mb, "imbalanced": mi},
                     configs={}, resamples=rs, analyses=analyses)
        for q in (q for q in QUESTIONS if q.runs == "pair"):
            t = time.perf_counter()
            q.figures(rec)
            part[q.id] = time.perf_counter() - t
        times.append(time.perf_counter() - t0)
        parts.append(part)
    best = int(np.argmin(times))
    cpu = next((line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")),
               platform.processor())
    flags = open("/proc/cpuinfo").read()
    print(f"# {cpu}; {torch.get_num_threads()} torch threads, numpy {np.__version__}, {time.strftime('%Y-%m-%d')}")
    print(f"# CPU flags: avx2 {'avx2' in flags} | avx512f {'avx512f' in flags} | native bf16 "
          f"{torch.ops.mkldnn._is_mkldnn_bf16_supported()} | cores {len(os.sched_getaffinity(0))}")
    print(f"every figure with {RESAMPLES} bootstrap resamples (and RQ6's size-matched control), one study: "
          f"balanced run 60000 x 64 x 10, imbalanced run 14886 x 64 x 10 (100:1), 10000 shared test "
          f"embeddings")
    print(f"total: best {min(times):.3f} s, median {sorted(times)[len(times) // 2]:.3f} s over {repeats} runs "
          f"(target < 2 s)")
    print("best run by part: " + ", ".join(f"{k} {v:.3f} s" for k, v in parts[best].items()))


if __name__ == "__main__":
    main()
