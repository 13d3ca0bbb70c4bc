"""What several test modules share (fixtures stay in conftest.py): the repository root and the
tiny profile's runs."""
from __future__ import annotations

from pathlib import Path

from fraglib.config import RunConfig

REPO = Path(__file__).resolve().parents[1]


def tiny(loss="ce", ratio=100, **kw) -> RunConfig:
    """A tiny-profile Fashion-MNIST run (seconds to train; what the tests train)."""
    return RunConfig.make("fashion-mnist", loss, ratio, profile="tiny", **kw)
