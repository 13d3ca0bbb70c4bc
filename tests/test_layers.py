"""fraglib's imports run one way: down its floors, never up and never round (function-level
imports included). The floors are the architecture; a new module takes a floor here, and a new
question module (fraglib/rq/*) takes the question modules' floor without a word."""
from __future__ import annotations

from pathlib import Path

from fraglib.provenance import module_name, package_imports

PACKAGE = Path(__file__).resolve().parents[1] / "fraglib"
QUESTION_MODULES = "rq.*"   # every module of fraglib/rq/: one floor, none imports another

FLOORS = [
    {"device", "fileio", "provenance", "measures", "bootstrap"},   # the ground: no fraglib import
    {"config", "verdicts", "ledger"},                         # what a run is; the verdict kinds and rules; the ledger's files
    {"multiverse"},                                           # the analysis choices the paper left open
    {"data", "models", "losses", "procrustean", "heads"},     # the training wing's parts
    {"infer"},                                                # a network's outputs (evaluations, embeddings)
    {"train", "eos"},
    {"netid"},                                                # a network's fingerprint, without torch where known
    {"embed", "recovery"},                                   # what a run folder still vouches for
    {"runs"},                                                 # the run store
    {"figures"},                                              # what a question module is made of
    {"paper", "claims"},
    {"rq", QUESTION_MODULES},                                 # one module per question
    {"questions"},                                            # the table, assembled from rq/*
    {"study"},                                                # all run access; owns the seeds
    {"plan", "charts", "cluster"},                            # the book's plan; charts; Slurm
    {"chapter", "executors", "pages"},                        # the kit the chapters call; training; pages
    {"book"},
    {"__main__", "__init__"},
]
# what a question's science may read: arrays and the measures, never a run, a study, a chart or a page
QUESTION_MAY_IMPORT = {"measures", "bootstrap", "config", "verdicts", "heads", "eos", "figures", "paper", "claims"}


def modules() -> dict[str, Path]:
    return {module_name(p) or "__init__": p for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts}


def floor_of(name: str) -> str:
    return QUESTION_MODULES if name.startswith("rq.") else name


def test_every_module_has_a_floor():
    placed = set().union(*FLOORS)
    have = {floor_of(m) for m in modules()}
    assert have == placed, f"unplaced: {sorted(have - placed)}; gone: {sorted(placed - have)}"


def test_imports_only_run_down():
    floor = {m: i for i, ms in enumerate(FLOORS) for m in ms}
    up = [f"fraglib/{p.relative_to(PACKAGE)}:{line} imports {name} (floor {floor[floor_of(name)]} >= its own "
          f"{floor[floor_of(me)]})"
          for me, p in sorted(modules().items()) for name, line in package_imports(p).items()
          if floor_of(name) in floor and name != me and floor[floor_of(name)] >= floor[floor_of(me)]]
    assert not up, "\n".join(up)


def test_a_question_module_reads_arrays_only():
    """A question module never imports the run store, the study, the charts, the kit or the book."""
    bad = [f"fraglib/rq/{p.name}:{line} imports {name}" for me, p in sorted(modules().items()) if me.startswith("rq.")
           for name, line in package_imports(p).items() if name not in QUESTION_MAY_IMPORT]
    assert not bad, "\n".join(bad)


def test_an_import_inside_a_function_is_seen(tmp_path):
    """The walk sees an import inside a function body (the kind that hid two cycles before)."""
    path = tmp_path / "probe.py"
    path.write_text("def f():\n    from .study import Study\n    return Study\n")
    assert package_imports(path) == {"study": 2}


def test_a_question_modules_relative_imports_are_named_from_the_package():
    names = package_imports(PACKAGE / "rq" / "rq1.py")
    assert {"claims", "figures", "heads", "paper"} <= set(names) and not any(n.startswith("rq") for n in names)
