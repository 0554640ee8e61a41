"""helpers.ensure_server(): starts the practice server in this process only when the settings point at the
practice address and nothing answers there; never a second one, never when pointed elsewhere. (Every notebook
under nbval also starts this way, in its own kernel.) The practice address is moved to a free port here, so
these tests never touch :1337."""

from __future__ import annotations

import http.server
import threading

import httpx
import pytest

import helpers
from helpers import practice
from helpers.server.testing import free_port


@pytest.fixture
def practice_port(monkeypatch):
    port = free_port()
    base_url = f"http://localhost:{port}/v1"
    monkeypatch.setattr(practice, "PRACTICE_PORT", port)
    monkeypatch.setattr(practice, "PRACTICE_BASE_URL", base_url)
    monkeypatch.setattr(practice, "_started", None)
    yield port, helpers.settings(base_url=base_url)
    if practice._started is not None:
        practice._started.stop()


def test_starts_one_when_nothing_answers_and_not_a_second_time(practice_port, capsys):
    port, settings = practice_port
    helpers.ensure_server(settings)
    assert "started in this kernel" in capsys.readouterr().out
    started = practice._started
    assert httpx.get(f"http://127.0.0.1:{port}/v1/models", timeout=5).status_code == 200
    helpers.ensure_server(settings)
    assert "Practice server: in this kernel" in capsys.readouterr().out and practice._started is started


def test_uses_a_server_that_already_answers(practice_port, fresh_server, capsys, monkeypatch):
    server = fresh_server()
    monkeypatch.setattr(practice, "PRACTICE_BASE_URL", server.base_url)
    helpers.ensure_server(helpers.settings(base_url=server.base_url))
    assert "already running" in capsys.readouterr().out and practice._started is None


def test_never_starts_one_when_the_settings_point_elsewhere(practice_port, capsys):
    helpers.ensure_server(helpers.settings(base_url="http://localhost:9/v1"))
    assert capsys.readouterr().out.startswith("Using the server at http://localhost:9/v1 (argument)")
    assert practice._started is None


def test_a_port_taken_by_something_else_is_explained(practice_port, capsys):
    port, settings = practice_port

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (the standard library's name)
            self.send_response(200)
            self.send_header("content-type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html>not a chat server</html>")

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), Page)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        helpers.ensure_server(settings)
    finally:
        httpd.shutdown()
    out = capsys.readouterr().out
    assert practice._started is None and f"Port {port} is taken" in out
