"""`make lab` / `python -m helpers lab`: the practice server on :1337 and JupyterLab, and Ctrl-C stops both."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

from helpers.lab import PRACTICE_PORT, server_answers
from helpers.server.testing import free_port

ROOT = Path(__file__).resolve().parents[1]
PRACTICE_URL = f"http://localhost:{PRACTICE_PORT}/v1"


def read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)


def wait_for_line(process: subprocess.Popen, lines: queue.Queue, seen: list[str], needle: str,
                  timeout: float) -> str | None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.2)
        except queue.Empty:
            if process.poll() is not None:
                return None
            continue
        seen.append(line)
        if needle in line:
            return line
    return None


def open_when_listening(url: str, timeout: float) -> bytes:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as page:
                return page.read()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def test_lab_starts_the_practice_server_and_jupyterlab_and_ctrl_c_stops_both(tmp_path):
    already_there = server_answers(PRACTICE_URL)
    port = free_port()
    env = {
        **os.environ,
        "JUPYTER_CONFIG_DIR": str(tmp_path / "config"),  # nobody's own JupyterLab settings
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(tmp_path / "workspaces"),
    }
    command = [sys.executable, "-m", "helpers", "lab", "--no-browser", f"--ServerApp.port={port}",
               "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0"]
    # Its own process group, so that the test can press Ctrl-C as a terminal does: SIGINT to the whole group.
    lab = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=read_lines, args=(lab.stdout, lines), daemon=True).start()
    seen: list[str] = []
    try:
        url_line = wait_for_line(lab, lines, seen, f"http://127.0.0.1:{port}/lab", timeout=90)
        assert url_line, "JupyterLab printed no URL:\n" + "".join(seen)
        assert server_answers(PRACTICE_URL), "nothing answers on :1337 while the lab runs"
        url = url_line[url_line.index("http://"):].split()[0]
        page = open_when_listening(url, timeout=30)  # it prints the URL a moment before it listens
        assert b"JupyterLab" in page, "".join(seen)
        output = "".join(seen)
        assert "Running as root is not recommended" not in output
        started_server = "Practice server: set OPENAI_BASE_URL" in output
        assert started_server or already_there, output
    finally:
        if lab.poll() is None:
            os.killpg(lab.pid, signal.SIGINT)
        try:
            lab.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(lab.pid, signal.SIGKILL)
            raise AssertionError("Ctrl-C did not stop `python -m helpers lab` within 30 s")
    if not already_there:
        deadline = time.monotonic() + 10
        while server_answers(PRACTICE_URL, timeout=0.5) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert server_answers(PRACTICE_URL, timeout=0.5) is None, "the practice server outlived the lab"
