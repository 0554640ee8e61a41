"""JupyterLab for the browser suite: token-less, on a free loopback port, with config, data, runtime, settings
and workspace directories of its own, serving a temporary copy of the notebooks (outputs and widget state
stripped) so that running them never touches the repository."""

from __future__ import annotations

import json
import shutil
import signal
import sys
import urllib.error
import urllib.request
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import nbformat

from helpers.server.testing import free_port
from tests.support import ROOT, ChildProcess, child_env, jupyter_dirs, started

START_TIMEOUT = 60  # s

# JupyterLab settings for a quiet, predictable UI: every cell in the DOM (no virtual scrolling),
# no news or update checks (the network is closed), no autosave racing with the tests.
SETTINGS = {
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none", "autoStartDefaultKernel": True},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
}


@dataclass
class Lab:
    url: str
    root: Path  # the folder it serves
    process: ChildProcess

    def api(self, method: str, path: str, timeout: float = 10):
        request = urllib.request.Request(self.url + path, method=method)
        with urllib.request.urlopen(request, timeout=timeout) as response:
            body = response.read()
        return json.loads(body) if body else None

    def answers(self) -> bool:
        try:
            self.api("GET", "/api/status", timeout=2)
            return True
        except (urllib.error.URLError, OSError, ValueError):
            return False

    def shutdown_sessions(self) -> None:
        """Stop the kernels that the last test's notebooks started."""
        try:
            for session in self.api("GET", "/api/sessions"):
                self.api("DELETE", f"/api/sessions/{session['id']}", timeout=30)
        except (urllib.error.URLError, OSError, ValueError):
            pass


def strip_outputs(path: Path) -> None:
    """A fresh start: no stored outputs, execution counts or widget state (which JupyterLab would
    otherwise restore, showing the stored stream before the cell runs)."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
    notebook.metadata.pop("widgets", None)
    nbformat.write(notebook, path)


def write_settings(folder: Path) -> None:
    for plugin, values in SETTINGS.items():
        package, _, name = plugin.rpartition("/")
        target = folder / package / f"{name}.jupyterlab-settings"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(values))


@contextmanager
def running_lab(base: Path, log: Path, practice_url: str) -> Iterator[Lab]:
    """JupyterLab in a subprocess (its log in `log`), serving a copy of notebooks/ under `base` to kernels that
    talk to the practice server at `practice_url`."""
    root = base / "notebooks"
    shutil.copytree(ROOT / "notebooks", root, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    for path in root.glob("*.ipynb"):
        strip_outputs(path)
    dirs = jupyter_dirs(base / "jupyter")
    write_settings(Path(dirs["JUPYTERLAB_SETTINGS_DIR"]))
    env = child_env(**dirs, OPENAI_BASE_URL=practice_url, OPENAI_API_KEY="practice", OPENAI_MODEL="practice")
    port = free_port()
    command = [
        sys.executable, "-m", "jupyter", "lab", "--no-browser", "--allow-root",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        "--IdentityProvider.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root}", "--ServerApp.terminals_enabled=False",
        f"--LabApp.workspaces_dir={dirs['JUPYTERLAB_WORKSPACES_DIR']}",
        f"--LabApp.user_settings_dir={dirs['JUPYTERLAB_SETTINGS_DIR']}",
        "--LabApp.news_url=None", "--LabApp.extension_manager=readonly",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        "--LabApp.expose_app_in_browser=True",  # window.jupyterapp: the cells' execution state
    ]
    # Its own process group, so that a kill takes its kernels too.
    with started("JupyterLab", command, log, env=env, cwd=root, own_group=True, stop_signal=signal.SIGTERM,
                 stop_timeout=15) as process:
        lab = Lab(url=f"http://127.0.0.1:{port}", root=root, process=process)
        try:
            process.wait_until_ready(lab.answers, START_TIMEOUT, interval=0.2)
            yield lab
        finally:
            lab.shutdown_sessions()
