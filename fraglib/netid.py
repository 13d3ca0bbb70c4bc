"""A network's fingerprint (`models.fingerprint`) without importing torch where nothing trains.

A run's folder is named by its network's fingerprint (`runs.RunStore.folder`), which is computed
by building the network and printing it: that needs torch, 2.5-4 s to import on a 2-core CPU, in
the book's command and in every page kernel, although a book whose runs and analyses are all
stored never runs a network. The fingerprint is a function of the network's arguments, of the
code of models.py and of what it imports (`provenance.source_digest`), and of torch's version
(torch prints the layers), so it is kept per those in the cache folder (`device.remembered`:
network-fingerprints.json in `$FRAGLIB_CACHE`, else `~/.cache/fraglib`). A process that has
imported torch already (it trains, or a test changed the network) computes it itself.
"""
from __future__ import annotations

import json

from .config import RunConfig, network_args
from .device import remembered, torch_version
from .provenance import source_digest


def network_fingerprint(config: RunConfig) -> str:
    """`train.network_fingerprint(config)`, read from the cache where torch is not imported yet."""
    def compute() -> str:
        from . import train
        return train.network_fingerprint(config)
    return remembered(lambda: json.dumps([*network_args(config), source_digest("models"), torch_version()]),
                      compute, "network-fingerprints.json")
