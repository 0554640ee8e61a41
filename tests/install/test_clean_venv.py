"""`make test-install`: the project installs without a clone, as on Colab or any other host.

The repository's tracked files are copied aside and built as a user's `python -m build` builds them: an
sdist, then the wheel from that sdist (BUILD_PYTHON, a venv with `build`, made by the Makefile). The wheel
goes into a clean virtual environment with pip, and from a directory far from the checkout, `helpers`
imports and `python -m helpers serve | check | demo` work: a practice server, the check, a stream. Then
the same venv takes the project from a git URL (this repository's HEAD, by file://) and passes again.
"""

from __future__ import annotations

import email
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import time
import tomllib
import zipfile
from pathlib import Path

import pytest

from helpers.lab import server_answers
from helpers.server.testing import free_port
from tests.support import wait_until

ROOT = Path(__file__).resolve().parents[2]
BUILD_PYTHON = os.environ.get("BUILD_PYTHON", "")
TREE_LINE = "Rooted deep where the quiet waters run"

pytestmark = pytest.mark.timeout(600)


def tracked_files() -> list[str]:
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [name for name in listed.decode().split("\0") if name and (ROOT / name).is_file()]


def run(args: list[str], cwd: Path, env: dict | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"{' '.join(map(str, args))} exited {done.returncode}:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    """sdist and wheel, built from a copy of the tracked files (untracked files cannot sneak in)."""
    if not (BUILD_PYTHON and Path(BUILD_PYTHON).is_file()):
        pytest.fail("run this suite with `make test-install` (it makes the build venv: BUILD_PYTHON)")
    source = tmp_path_factory.mktemp("source")
    for name in tracked_files():
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    started = time.perf_counter()
    run([BUILD_PYTHON, "-m", "build", "--outdir", str(out), str(source)], cwd=source)
    print(f"\nsdist and wheel built in {time.perf_counter() - started:.1f} s")
    return out


def only(folder: Path, pattern: str) -> Path:
    found = sorted(folder.glob(pattern))
    assert len(found) == 1, found
    return found[0]


def test_the_wheel_holds_every_file_of_the_package_and_nothing_else(dist):
    package_files = {name for name in tracked_files() if name.startswith("helpers/")}
    with zipfile.ZipFile(only(dist, "*.whl")) as wheel:
        names = set(wheel.namelist())
        metadata = email.message_from_bytes(wheel.read(next(n for n in names if n.endswith(".dist-info/METADATA"))))
    assert package_files <= names, f"missing from the wheel: {sorted(package_files - names)}"
    assert {n for n in names if not n.startswith("helpers/") and ".dist-info/" not in n} == set()
    wanted = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    required = [r for r in metadata.get_all("Requires-Dist") if "extra ==" not in r]
    assert sorted(r.split(";")[0].replace(" ", "").lower() for r in required) == \
        sorted(r.split(";")[0].replace(" ", "").lower() for r in wanted)


def test_the_sdist_holds_what_a_build_needs(dist):
    with tarfile.open(only(dist, "*.tar.gz")) as sdist:
        names = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    needed = {"pyproject.toml", "README.md"} | {n for n in tracked_files() if n.startswith("helpers/")}
    assert needed <= names, f"missing from the sdist: {sorted(needed - names)}"


@pytest.fixture(scope="module")
def venv(tmp_path_factory, dist) -> Path:
    """A clean virtual environment with the wheel installed by pip (and nothing from the checkout)."""
    folder = tmp_path_factory.mktemp("clean") / "venv"
    run([sys.executable, "-m", "venv", str(folder)], cwd=folder.parent)
    started = time.perf_counter()
    run([str(folder / "bin" / "python"), "-m", "pip", "install", "-q", "-c", str(ROOT / "constraints.txt"),
         str(only(dist, "*.whl"))], cwd=folder.parent, timeout=540)
    print(f"\nthe wheel and its dependencies installed into a clean venv in {time.perf_counter() - started:.1f} s")
    return folder


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPENAI_", "PYTHON", "VIRTUAL_ENV"))}
    return {**env, **extra}


def smoke_test(venv: Path, workdir: Path) -> None:
    """What a user on a fresh host does: import, serve, check, and stream a reply in the terminal."""
    python = str(venv / "bin" / "python")
    where = run([python, "-c", "import helpers; print(helpers.__file__)"], cwd=workdir, env=clean_env()).stdout
    assert Path(where.strip()).is_relative_to(venv), where  # the installed package, not the checkout

    port = free_port()
    server = subprocess.Popen([python, "-m", "helpers", "serve", "--port", str(port)], cwd=workdir,
                              env=clean_env(), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        def up() -> bool:
            assert server.poll() is None, "the practice server exited"
            return bool(server_answers(f"http://127.0.0.1:{port}/v1", timeout=1, models_only=True))

        wait_until(up, 30, "the practice server did not start", interval=0.1)
        env = clean_env(OPENAI_BASE_URL=f"http://localhost:{port}/v1")
        check = run([python, "-m", "helpers", "check"], cwd=workdir, env=env, timeout=60).stdout
        assert "this is the practice server" in check and "All good" in check, check
        demo = run([python, "-m", "helpers", "demo"], cwd=workdir, env=env, timeout=60).stdout
        assert demo.startswith("**The Tree**") and TREE_LINE in demo, demo
        whole = run([python, "-m", "helpers", "demo", "--no-stream"], cwd=workdir, env=env, timeout=60).stdout
        assert whole == demo, (whole, demo)  # the same reply, whole or streamed
    finally:
        server.send_signal(signal.SIGINT)  # Ctrl-C
        output, _ = server.communicate(timeout=20)
    assert server.returncode == 0, output
    assert f"OPENAI_BASE_URL=http://localhost:{port}/v1" in output


def test_from_the_wheel_import_serve_check_and_a_stream_work(venv, tmp_path):
    started = time.perf_counter()
    smoke_test(venv, tmp_path)
    print(f"\nsmoke test (wheel) in {time.perf_counter() - started:.1f} s")


def test_from_a_git_url_the_same_works(venv, tmp_path):
    """`pip install git+<repository>`: here the repository's HEAD through file://, as Colab takes it from GitHub."""
    python = str(venv / "bin" / "python")
    head = run(["git", "rev-parse", "HEAD"], cwd=ROOT).stdout.strip()
    run([python, "-m", "pip", "install", "-q", "--no-deps", "--force-reinstall",
         f"git+file://{ROOT}@{head}"], cwd=tmp_path, timeout=300)
    record = run([python, "-m", "pip", "show", "-f", "openai-jupyter-tutorial"], cwd=tmp_path).stdout
    assert "helpers/server/app.py" in record
    direct_url = run([python, "-c", "import importlib.metadata as m; "
                      "print(m.distribution('openai-jupyter-tutorial').read_text('direct_url.json'))"],
                     cwd=tmp_path).stdout
    assert head in direct_url and "git" in direct_url
    smoke_test(venv, tmp_path)
