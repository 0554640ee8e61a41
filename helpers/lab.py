"""`python -m helpers lab`: the practice server (unless one already answers) and JupyterLab."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from .defaults import PRACTICE_PORT


def server_answers(base_url: str, timeout: float = 2.0, *, models_only: bool = False) -> bool | None:
    """Ask GET {base_url}/models. True: an OpenAI-compatible server answers. False: something else does.
    None: nothing listens.

    An OpenAI-style error (a 401 from a server that wants a key) counts as compatible, unless `models_only`:
    then only a model list does, as a server that answers 503 while it loads its model is not ready yet.
    """
    try:
        with urllib.request.urlopen(f"{base_url}/models", timeout=timeout) as response:
            try:
                body = json.load(response)
            except ValueError:  # something answers, but not with JSON: a web page, another service
                return False
            return isinstance(body, dict) and isinstance(body.get("data"), list)
    except urllib.error.HTTPError as error:
        if models_only:
            return False
        try:
            body = json.load(error)
        except ValueError:
            return False
        return isinstance(body, dict) and "error" in body
    except (urllib.error.URLError, OSError, ValueError):
        return None


def start_practice_server(port: int = PRACTICE_PORT) -> subprocess.Popen | None:
    """Start the practice server in the background unless a compatible server already answers."""
    base_url = f"http://localhost:{port}/v1"
    state = server_answers(base_url)
    if state:
        print(f"A compatible server already answers at {base_url}: using it.", flush=True)
        return None
    if state is False:
        raise SystemExit(f"Port {port} is taken by something that is not an OpenAI-compatible server. "
                         f"Stop it, or run the practice server elsewhere: python -m helpers serve --port 1338")
    process = subprocess.Popen([sys.executable, "-m", "helpers", "serve", "--port", str(port)])
    for _ in range(100):
        if server_answers(base_url, timeout=0.5):
            return process
        if process.poll() is not None:
            raise SystemExit(f"The practice server did not start (exit code {process.returncode}).")
        time.sleep(0.1)
    process.terminate()
    raise SystemExit("The practice server did not answer within 10 s.")


def notebooks_dir() -> Path:
    here = Path.cwd() / "notebooks"
    return here if here.is_dir() else Path(__file__).resolve().parent.parent / "notebooks"


def root_args() -> list[str]:
    """JupyterLab refuses to run as root without --allow-root: containers and CI machines often are root."""
    return ["--allow-root"] if hasattr(os, "geteuid") and os.geteuid() == 0 else []


def lab(extra_args: list[str] | None = None) -> int:
    server = start_practice_server()
    try:
        command = [sys.executable, "-m", "jupyter", "lab", f"--notebook-dir={notebooks_dir()}", *root_args(),
                   *(extra_args or [])]
        print("Starting JupyterLab; open the URL it prints below (Ctrl-C stops both).", flush=True)
        return subprocess.call(command)
    except KeyboardInterrupt:
        return 0
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=10)
