"""Running the practice server in a background thread, for tests, notebooks runs and benchmarks."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import contextmanager
from typing import Iterator

import uvicorn
from starlette.applications import Starlette

from .app import create_app
from .serve import install_log_filters


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class ServerThread:
    """A uvicorn server on 127.0.0.1 in a daemon thread; ``base_url`` ends with /v1."""

    def __init__(self, app: Starlette, port: int | None = None) -> None:
        self.app = app
        install_log_filters()
        self.port = port or free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False,
                                timeout_graceful_shutdown=1)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"practice-server-{self.port}", daemon=True)

    @property
    def root_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return self.root_url + "/v1"

    def start(self, timeout: float = 10) -> "ServerThread":
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"practice server did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=5)


@contextmanager
def running_server(tokens_per_second: float = 0, api_key: str | None = None, port: int | None = None) -> Iterator[ServerThread]:
    """``with running_server() as server: ... server.base_url ...``"""
    server = ServerThread(create_app(tokens_per_second=tokens_per_second, api_key=api_key), port=port).start()
    try:
        yield server
    finally:
        server.stop()
