"""The CUDA path: a run trained on the GPU (data on the device, the auto precision), read back on the
CPU; the local executor's placement of runs on the visible GPUs; the GPU benchmark's step. Skipped,
with the reason, on a machine without a CUDA GPU (benchmarks/gpu.py measures the paper profile on
one)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from fraglib.config import RunConfig
from fraglib.device import native_bf16, pick_device
from fraglib.runs import RunStore
from fraglib.train import Interrupted
from tests.helpers import REPO, tiny

pytestmark = [pytest.mark.gpu,
              pytest.mark.skipif(not torch.cuda.is_available(),
                                 reason="no CUDA GPU here: the CUDA path is tested where one is visible")]


def test_auto_precision_on_the_gpu_is_bf16_where_it_has_bf16_units():
    config = RunConfig.make("fashion-mnist", "ce", 100, profile="quick", device="cuda")
    assert config.regime.precision == ("bf16" if native_bf16("cuda") else "fp32")
    assert pick_device("cuda").type == "cuda"


def test_a_run_trained_on_the_gpu_reads_back_on_the_cpu(tmp_path):
    store = RunStore(tmp_path / "runs")
    config = tiny(device="cuda")
    run = store.get(config, progress=False, device="cuda")
    assert run.metrics["device"].startswith("cuda")
    losses = [e["loss"] for e in run.history]
    assert np.isfinite(losses).all() and losses[-1] < 0.8 * losses[0]        # it learned
    cpu = RunStore(tmp_path / "runs").get(config, train_if_missing=False)   # a login node, no GPU used
    emb = cpu.embeddings("cpu")
    assert np.isfinite(emb.fe_train).all() and emb.fe_train.shape[0] == len(emb.y_train)
    per_class = [(emb.pred_test[emb.y_test == c] == c).mean() for c in range(emb.num_classes)]
    assert abs(np.mean(per_class) - run.metrics["test_bac"]) < 0.02   # same net, either device


def test_a_run_on_the_gpu_resumes_from_its_checkpoint(tmp_path):
    store = RunStore(tmp_path / "runs")
    config = tiny(device="cuda")
    with pytest.raises(Interrupted):
        store.get(config, progress=False, device="cuda", stop_after_epoch=2)
    assert (store.folder(config) / "checkpoint.pt").exists()
    run = store.get(config, progress=False, device="cuda")
    assert len(run.history) == config.regime.epochs


def test_the_local_executor_places_runs_on_every_visible_gpu():
    from fraglib.executors import local_workers, runs_per_gpu
    configs = [tiny(device="cuda"), tiny("focal", device="cuda")]
    processes, _, slots = local_workers(configs, workers=1, device="cuda")
    gpus = torch.cuda.device_count()
    assert slots is not None and sorted(set(slots)) == list(range(gpus))
    assert processes == gpus * runs_per_gpu(configs[0])


def test_the_gpu_benchmarks_steps_run():
    import sys
    sys.path.insert(0, str(REPO / "benchmarks"))
    import gpu
    assert gpu.measure(seconds=2.0) > 1000
    assert gpu.reference(seconds=2.0, workers=2) > 100
