"""Binder (repo2docker) launches: binder/environment.yml, postBuild and start; the README's launch links.

repo2docker itself needs Docker, so what is tested here is what can be: the environment names the
project's dependencies, the scripts are executable, and `start` run as repo2docker runs it (from the
repository, with the notebook server's command as its arguments) leaves a practice server answering and
becomes that command (`exec "$@"`), even when the practice server cannot start.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tomllib
from pathlib import Path

import psutil
import pytest

from helpers.server.testing import free_port

ROOT = Path(__file__).resolve().parents[1]
BINDER = ROOT / "binder"

# The command repo2docker would hand over to (jupyter lab ...): here, a Python that checks the
# practice server through the helpers, reports its own pid and the server's, and exits with 7.
COMMAND = """
import os, psutil, helpers
print("pid", os.getpid())
print("server", *[p.pid for p in psutil.Process().children() if "helpers" in p.cmdline()])
print("practice", helpers.is_practice_server())
print("text", helpers.complete("write a poem about a tree").text.splitlines()[0])
raise SystemExit(7)
"""


def normalise(requirement: str) -> str:
    name, rest = re.match(r"^\s*([A-Za-z0-9_.\-]+)(.*)$", requirement).groups()
    return re.sub(r"[-_.]+", "-", name).lower() + re.sub(r"\s+", "", rest).replace('"', "'")


def test_binder_environment_names_the_projects_dependencies():
    lines = (BINDER / "environment.yml").read_text().splitlines()
    assert "  - python=3.11" in lines and "  - pip" in lines
    start = lines.index("  - pip:")
    listed = [re.match(r"^\s+- (.+)$", line).group(1) for line in lines[start + 1:] if line.strip()]
    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    assert sorted(map(normalise, listed)) == sorted(map(normalise, wanted))


def test_binder_scripts_are_executable_bash():
    for name in ("postBuild", "start"):
        script = BINDER / name
        assert os.access(script, os.X_OK), f"chmod +x binder/{name}"
        assert script.read_text().startswith("#!/bin/bash\n")
        mode = subprocess.run(["git", "ls-files", "-s", f"binder/{name}"], cwd=ROOT, capture_output=True,
                              text=True).stdout.split()
        assert not mode or mode[0] == "100755", f"binder/{name} is not executable in git: git update-index --chmod=+x"
    assert 'exec "$@"' in (BINDER / "start").read_text()
    assert "pip install --no-deps" in (BINDER / "postBuild").read_text()


def run_start(port: int, tmp_path: Path, command: str = COMMAND) -> tuple[int, subprocess.CompletedProcess]:
    """binder/start as repo2docker runs it: from the repository, the server's command as arguments.
    Returns start's pid and what it did."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env.update(PRACTICE_PORT=str(port), PRACTICE_LOG=str(tmp_path / "practice.log"),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}")
    args = [str(BINDER / "start"), sys.executable, "-c", command]
    with subprocess.Popen(args, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as start:
        stdout, stderr = start.communicate(timeout=60)
    return start.pid, subprocess.CompletedProcess(args, start.returncode, stdout, stderr)


@pytest.mark.timeout(60)
def test_start_leaves_a_practice_server_answering_and_becomes_the_command(tmp_path):
    port = free_port()
    pid, done = run_start(port, tmp_path)
    fields = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    servers = [int(pid) for pid in fields.get("server", "").split()]
    try:
        assert done.returncode == 7, done.stderr  # the command's own exit code
        assert fields["pid"] == str(pid)  # the same process: start became the command (exec)
        assert fields["practice"] == "True" and fields["text"] == "**The Tree**"
        assert len(servers) == 1  # the server is start's background job, which the command inherited
        assert psutil.Process(servers[0]).is_running()
        assert f"localhost:{port}/v1" in (tmp_path / "practice.log").read_text()
    finally:
        for server in servers:
            psutil.Process(server).terminate()
    assert done.stderr == ""


@pytest.mark.timeout(60)
def test_start_hands_over_even_when_the_practice_server_cannot_start(tmp_path):
    with socket.socket() as taken:  # something else already listens on the port
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        pid, done = run_start(taken.getsockname()[1], tmp_path, "import os; print(os.getpid()); raise SystemExit(7)")
    assert done.returncode == 7 and done.stdout.strip() == str(pid)  # the notebook server still starts
    assert "The practice server did not start" in done.stderr
    assert "address already in use" in (tmp_path / "practice.log").read_text().lower()


def test_the_readmes_launch_links_open_notebooks_that_exist():
    readme = (ROOT / "README.md").read_text()
    links = dict(re.findall(r"^\[(binder|colab-\d\d)\]: (\S+)$", readme, re.MULTILINE))
    notebooks = [path.name for path in sorted((ROOT / "notebooks").glob("[0-9][0-9]-*.ipynb"))]
    colab = [url for name, url in sorted(links.items()) if name.startswith("colab-")]
    assert [url.split("/blob/main/notebooks/")[1] for url in colab] == notebooks
    assert all(url.startswith("https://colab.research.google.com/github/OWNER/REPO/") for url in colab)
    assert links["binder"] == ("https://mybinder.org/v2/gh/OWNER/REPO/HEAD?urlpath=lab/tree/notebooks/"
                               "01-start-here.ipynb") and "01-start-here.ipynb" in notebooks
    used = set(re.findall(r"\]\[(binder|colab-\d\d)\]", readme))
    assert used == set(links), "a badge without a link, or a link without a badge"
