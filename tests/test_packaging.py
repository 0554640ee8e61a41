"""environment.yml (for conda users) and pyproject.toml must install the same things."""

from __future__ import annotations

import re
import tomllib

from tests.support import ROOT


def normalise(requirement: str) -> str:
    name, rest = re.match(r"^\s*([A-Za-z0-9_.\-]+)(.*)$", requirement).groups()
    return re.sub(r"[-_.]+", "-", name).lower() + re.sub(r"\s+", "", rest).replace('"', "'")


def environment_pip_list() -> list[str]:
    lines = (ROOT / "environment.yml").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.strip() == "- pip:")
    items = []
    for line in lines[start + 1 :]:
        match = re.match(r"^\s+- (.+)$", line)
        if not match:
            break
        items.append(match.group(1).strip())
    return items


def test_environment_yml_names_the_same_dependencies_as_pyproject():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    wanted = sorted(normalise(r) for r in pyproject["project"]["dependencies"])
    pip_list = environment_pip_list()
    assert "-e ." in pip_list, "environment.yml must install the project itself (pip: -e .)"
    listed = sorted(normalise(r) for r in pip_list if r != "-e .")
    assert listed == wanted


def test_environment_yml_pins_python_311():
    text = (ROOT / "environment.yml").read_text()
    assert re.search(r"^\s+- python=3\.11\s*$", text, re.MULTILINE) and re.search(r"^\s+- pip\s*$", text, re.MULTILINE)


def test_constraints_pin_every_direct_dependency():
    pins = {normalise(line).split("==")[0] for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line}
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    direct = pyproject["project"]["dependencies"] + pyproject["project"]["optional-dependencies"]["test"]
    names = {re.split(r"[<>=!;\s\[]", normalise(r))[0] for r in direct}
    assert names <= pins, f"not pinned in constraints.txt: {sorted(names - pins)}"
