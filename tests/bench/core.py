"""What the benchmark scripts share: the practice server in a child process, one streamed reply as a client
saw it, sampling a process's memory and CPU, the event loop, and the table of targets.

The scripts run from the checkout as modules: ``python -m tests.bench.bench_server`` (see ``make bench``).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, TypeVar

from helpers.lab import server_answers
from helpers.server.testing import free_port
from tests.support import ChildProcess, asse_events, started

HOST = "127.0.0.1"  # loopback only: never a target on the network
T = TypeVar("T")


def chat_body(prompt: str) -> dict:
    return {"model": "practice", "messages": [{"role": "user", "content": prompt}], "stream": True}


# --- servers in child processes ----------------------------------------------------------------


@dataclass
class Server:
    """A server this benchmark started on a loopback port."""

    child: ChildProcess
    port: int

    @property
    def root_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    @property
    def chat_url(self) -> str:
        return f"{self.root_url}/v1/chat/completions"

    @property
    def pid(self) -> int:
        return self.child.pid


@contextmanager
def served(name: str, module_args: list[str], workdir: Path, *, env: dict[str, str] | None = None,
           own_group: bool = False) -> Iterator[Server]:
    """``python -m <module_args>`` ("{port}" in them becomes a free port), its log in `workdir`, ready once
    anything answers HTTP on that port; stopped with Ctrl-C (a clean uvicorn shutdown) when the block ends."""
    port = free_port()
    command = [sys.executable, "-m", *[arg.replace("{port}", str(port)) for arg in module_args]]
    with started(name, command, workdir / f"{name}.log", env=env, own_group=own_group) as child:
        server = Server(child, port)
        child.wait_until_ready(lambda: server_answers(f"{server.root_url}/v1") is not None, 30)
        yield server


def practice_args(*options: str) -> list[str]:
    """The practice server on the loopback port "{port}", as ``python -m helpers serve`` is run for a room."""
    return ["helpers", "serve", "--host", HOST, "--port", "{port}", "--no-access-log", *options]


# --- one streamed reply --------------------------------------------------------------------------


@dataclass
class StreamRecord:
    """One streamed reply as the client saw it: times from time.perf_counter(), except `started` and `ended`
    (time.time(), comparable across processes)."""

    sent: float
    started: float
    status: int | None = None
    content_times: list[float] = field(default_factory=list)  # when each content chunk arrived
    finish_reason: str | None = None
    done: bool = False  # [DONE] arrived
    error: str | None = None
    ended: float | None = None

    @property
    def chunks(self) -> int:
        return len(self.content_times)

    @property
    def ttft(self) -> float | None:
        """Seconds from sending the request to the first content chunk."""
        return self.content_times[0] - self.sent if self.content_times else None

    @property
    def rate(self) -> float | None:
        """Content chunks per second: (chunks - 1) / (last - first content chunk)."""
        times = self.content_times
        return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else None


async def read_stream(client, url: str, body: dict, headers: dict[str, str] | None = None) -> StreamRecord:
    """Stream one reply with an httpx.AsyncClient; every failure is recorded, none raised."""
    record = StreamRecord(sent=time.perf_counter(), started=time.time())
    try:
        async with client.stream("POST", url, json=body, headers=headers) as response:
            record.status = response.status_code
            if response.status_code != 200:
                record.error = f"HTTP {response.status_code}: {(await response.aread())[:200]!r}"
                return record
            async for event in asse_events(response):
                now = time.perf_counter()
                if event.data == "[DONE]":
                    record.done = True
                    continue
                chunk = json.loads(event.data)
                if "error" in chunk:
                    record.error = f"in-stream error: {chunk['error']}"
                    continue
                for choice in chunk.get("choices") or []:
                    if choice["delta"].get("content"):
                        record.content_times.append(now)
                    if choice.get("finish_reason"):
                        record.finish_reason = choice["finish_reason"]
    except Exception as error:  # noqa: BLE001 - every failure is a figure of the run
        record.error = f"{type(error).__name__}: {error}"
    record.ended = time.time()
    if record.error is None and not (record.done and record.finish_reason):
        record.error = "stream ended without finish_reason and [DONE]"
    return record


def async_client(connections: int):
    """An httpx.AsyncClient that keeps `connections` connections open at once."""
    import httpx

    limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
    return httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=30.0), limits=limits)


def run_loop(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine in a fresh event loop: uvloop when installed, as uvicorn picks for the servers."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


# --- a process's memory and CPU ------------------------------------------------------------------


class Sampler(Generic[T]):
    """Calls `read` every `interval` seconds in a thread while the ``with`` block runs; `values` has what it
    returned (a call that fails, say because the process is gone, adds nothing)."""

    def __init__(self, read: Callable[[], T], interval: float) -> None:
        self.read, self.interval = read, interval
        self.values: list[T] = []
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                self.values.append(self.read())
            except Exception:  # noqa: BLE001
                pass
            self.stopped.wait(self.interval)

    def __enter__(self) -> "Sampler[T]":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stopped.set()
        self.thread.join(timeout=self.interval + 5)


def rss(pid: int, with_children: bool = False) -> int:
    """A process's resident memory in bytes (with its children's, if asked)."""
    import psutil

    process = psutil.Process(pid)
    total = process.memory_info().rss
    for child in process.children(recursive=True) if with_children else []:
        try:
            total += child.memory_info().rss
        except psutil.Error:  # a child may be gone
            pass
    return total


def cpu_seconds(pid: int) -> float:
    """User and system CPU time a process has used so far."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def with_watchdog(run: Callable[[], T], seconds: float, what: str) -> T | None:
    """``run()``, but if it has not returned within ``seconds`` every process this run started is killed and
    the run exits 2: a hung server or client must not hang CI. A failure is reported in one line: None."""
    import psutil

    def give_up() -> None:
        print(f"FAIL: {what} gave no result within {seconds:g} s; stopping everything", file=sys.stderr, flush=True)
        for child in psutil.Process().children(recursive=True):  # the server and clients: only what we started
            child.kill()
        os._exit(2)

    watchdog = threading.Timer(seconds, give_up)
    watchdog.daemon = True
    watchdog.start()
    try:
        return run()
    except Exception as error:  # noqa: BLE001
        print(f"FAIL: {what} could not run: {type(error).__name__}: {error}", file=sys.stderr)
        return None
    finally:
        watchdog.cancel()


# --- targets -------------------------------------------------------------------------------------


@dataclass
class Target:
    """What a benchmark promises, what it measured (as shown), and whether that meets it."""

    goal: str
    measured: str
    passed: bool


def targets_table(targets: list[Target]) -> list[str]:
    """A markdown table of the targets, PASS or FAIL each."""
    return ["| target | measured | result |", "|---|---:|---|"] + [
        f"| {t.goal} | {t.measured} | {'PASS' if t.passed else 'FAIL'} |" for t in targets
    ]
