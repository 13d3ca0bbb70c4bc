"""Shared fixtures. Real data: Fashion-MNIST from Debian's dataset-fashion-mnist (the README's
test command installs it); the online datasets are exercised on small files made here."""
from __future__ import annotations

import os
import shutil

import pytest

from fraglib.runs import RunStore

from .helpers import tiny


@pytest.fixture(scope="session", autouse=True)
def own_cache(tmp_path_factory):
    """The tests' own fraglib cache (`device.cache_folder`: network fingerprints, the CPU's bf16),
    inherited by every process they start: the user's is neither read nor written."""
    os.environ["FRAGLIB_CACHE"] = str(tmp_path_factory.mktemp("fraglib-cache"))


@pytest.fixture(scope="session")
def shared_store(tmp_path_factory) -> RunStore:
    """A run store shared by the tests that only read runs (each run trains once a session)."""
    return RunStore(tmp_path_factory.mktemp("runs"))


@pytest.fixture
def store(tmp_path) -> RunStore:
    return RunStore(tmp_path / "runs")


@pytest.fixture
def done(shared_store, tmp_path):
    """A store holding a copy of one complete tiny run (trained once a session): (store, its folder)."""
    run = shared_store.get(tiny(), progress=False)
    store = RunStore(tmp_path / "runs")
    shutil.copytree(run.folder, store.folder(tiny()))
    return store, store.folder(tiny())
