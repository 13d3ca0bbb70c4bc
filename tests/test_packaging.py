"""pyproject.toml and environment.yml name the same dependencies."""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

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
