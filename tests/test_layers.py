"""fraglib's imports run one way: down its floors, never up and never round (function-level
imports included). The floors are the architecture; a new module takes a floor here."""
from __future__ import annotations

from pathlib import Path

from fraglib.fileio import package_imports

PACKAGE = Path(__file__).resolve().parents[1] / "fraglib"

FLOORS = [
    {"device", "fileio", "measures", "bootstrap"},            # the ground: no fraglib import
    {"config"},                                               # what a run is; the dataset facts
    {"data", "models", "losses", "procrustean", "heads"},     # the training wing's parts
    {"train", "eos"},
    {"embed"},
    {"runs"},                                                 # the run store
    {"figures"},                                              # arrays in, figures out
    {"extensions", "paper"},
    {"claims"},
    {"questions"},                                            # the table of questions
    {"study"},                                                # all run access
    {"charts", "cluster"},
    {"chapter"},                                              # the kit the chapters call
    {"book"},
    {"__main__", "__init__"},
]


def test_every_module_has_a_floor():
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    placed = set().union(*FLOORS)
    assert modules == placed, f"unplaced: {sorted(modules - placed)}; gone: {sorted(placed - modules)}"


def test_imports_only_run_down():
    floor = {m: i for i, ms in enumerate(FLOORS) for m in ms}
    up = [f"fraglib/{p.name}:{line} imports {name} (floor {floor[name]} >= its own {floor[p.stem]})"
          for p in sorted(PACKAGE.glob("*.py")) for name, line in package_imports(p).items()
          if name in floor and name != p.stem and floor[name] >= floor[p.stem]]
    assert not up, "\n".join(up)


def test_an_import_inside_a_function_is_seen(tmp_path):
    """The walk sees an import inside a function body (the kind that hid two cycles before)."""
    path = tmp_path / "probe.py"
    path.write_text("def f():\n    from .study import Study\n    return Study\n")
    assert package_imports(path) == {"study": 2}
