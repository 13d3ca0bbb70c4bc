"""pyproject.toml and environment.yml name the same dependencies."""
from __future__ import annotations

import re
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[1]


def _name(req: str) -> str:
    return re.split(r"[<>=!~ \[]", req.strip(), maxsplit=1)[0].lower()


def test_pyproject_and_environment_agree():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    wanted = set(project["dependencies"]) | set(project["optional-dependencies"]["test"])
    env = (REPO / "environment.yml").read_text()
    pip_block = env.split("- pip:", 1)[1]
    listed = {line.strip()[2:] for line in pip_block.splitlines() if line.strip().startswith("- ")}
    listed.discard("-e .")
    assert listed == wanted  # same names and the same pins
    assert {_name(r) for r in listed} == {_name(r) for r in wanted}


def test_every_fraglib_package_is_installed_by_a_wheel():
    """A subpackage left out of [tool.setuptools] packages works in the editable install and is
    missing from a wheel: every folder of fraglib with an __init__.py is listed."""
    listed = set(tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    found = {".".join(p.parent.relative_to(REPO).parts) for p in (REPO / "fraglib").rglob("__init__.py")}
    assert found == listed
