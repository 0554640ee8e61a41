"""`make lab` / `python -m helpers lab`: the practice server on :1337 and JupyterLab, and Ctrl-C stops both."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import urllib.request

from helpers.lab import PRACTICE_PORT, server_answers
from helpers.server.testing import free_port
from tests.support import ROOT, child_env, jupyter_dirs, wait_until

PRACTICE_URL = f"http://localhost:{PRACTICE_PORT}/v1"


def read_lines(stream, lines: queue.Queue) -> None:
    for line in stream:
        lines.put(line)


def page_or_none(url: str) -> bytes | None:
    try:
        with urllib.request.urlopen(url, timeout=10) as page:
            return page.read()
    except OSError:
        return None


def test_lab_starts_the_practice_server_and_jupyterlab_and_ctrl_c_stops_both(tmp_path):
    already_there = server_answers(PRACTICE_URL)
    port = free_port()
    env = child_env(**jupyter_dirs(tmp_path))  # nobody's own JupyterLab settings
    command = [sys.executable, "-m", "helpers", "lab", "--no-browser", f"--ServerApp.port={port}",
               "--ServerApp.ip=127.0.0.1", "--ServerApp.port_retries=0"]
    # Its own process group, so that the test can press Ctrl-C as a terminal does: SIGINT to the whole group.
    lab = subprocess.Popen(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, start_new_session=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=read_lines, args=(lab.stdout, lines), daemon=True).start()
    seen: list[str] = []

    def url_line() -> str | None:
        while not lines.empty():
            seen.append(lines.get())
        found = next((line for line in seen if f"http://127.0.0.1:{port}/lab" in line), None)
        if found is None and lab.poll() is not None:
            raise AssertionError("JupyterLab printed no URL:\n" + "".join(seen))
        return found

    try:
        line = wait_until(url_line, 90, lambda: "JupyterLab printed no URL:\n" + "".join(seen), interval=0.2)
        assert server_answers(PRACTICE_URL), "nothing answers on :1337 while the lab runs"
        url = line[line.index("http://"):].split()[0]
        # It prints the URL a moment before it listens.
        page = wait_until(lambda: page_or_none(url), 30, f"nothing answers at {url}", interval=0.2)
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
        wait_until(lambda: server_answers(PRACTICE_URL, timeout=0.5) is None, 10,
                   "the practice server outlived the lab", interval=0.2)
