"""The practice server over time: clients that leave, streams that share the loop, and the CLI
that starts and stops it (``python -m helpers serve``)."""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from helpers.server.testing import free_port
from tests.support import ROOT, child_env, wait_until

STORY = {"model": "practice", "messages": [{"role": "user", "content": "tell me a long story"}], "stream": True}


# --- clients that leave ----------------------------------------------------------------------


@pytest.mark.timeout(20)
def test_a_client_that_leaves_mid_stream_is_cleaned_up(fresh_server):
    server = fresh_server(tokens_per_second=20)
    stats = server.app.state.stats
    with httpx.Client(timeout=10) as client:
        with client.stream("POST", server.base_url + "/chat/completions", json=STORY) as response:
            lines = response.iter_lines()  # kept: a dropped iterator would close the stream early
            events = [line for _, line in zip(range(4), filter(None, lines))]
            assert len(events) == 4 and all(event.startswith("data: ") for event in events)
            time.sleep(0.2)
            assert stats.active_streams == 1 and stats.client_disconnects == 0
    left = time.monotonic()
    wait_until(lambda: stats.active_streams == 0, 2, lambda: str(stats), interval=0.01)
    assert time.monotonic() - left < 2
    wait_until(lambda: stats.client_disconnects == 1, 1, lambda: str(stats), interval=0.01)
    assert stats.completed_streams == 0 and stats.dropped_streams == 0


@pytest.mark.timeout(20)
def test_many_concurrent_aborted_streams_are_all_cleaned_up(fresh_server):
    server = fresh_server(tokens_per_second=20)
    stats = server.app.state.stats
    count = 20

    async def open_and_abandon() -> None:
        async with httpx.AsyncClient(timeout=10, limits=httpx.Limits(max_connections=count)) as client:
            responses = []
            for _ in range(count):
                request = client.build_request("POST", server.base_url + "/chat/completions", json=STORY)
                responses.append(await client.send(request, stream=True))
            lines = [response.aiter_lines() for response in responses]  # kept: a dropped iterator closes its stream
            firsts = [await anext(iterator) for iterator in lines]
            assert all(first.startswith("data: ") for first in firsts)
            assert stats.active_streams == count
            for response in responses:
                await response.aclose()

    asyncio.run(open_and_abandon())
    wait_until(lambda: stats.active_streams == 0, 2, lambda: str(stats), interval=0.01)
    wait_until(lambda: stats.client_disconnects == count, 1, lambda: str(stats), interval=0.01)
    assert stats.completed_streams == 0


@pytest.mark.timeout(30)
def test_a_long_stream_read_slowly_does_not_hold_up_others(fresh_server):
    """At full speed (0 tokens/s), while one client slowly reads a 2000-token stream,
    another client's first chunk still comes at once."""
    server = fresh_server(tokens_per_second=0)
    stats = server.app.state.stats
    url = server.base_url + "/chat/completions"
    long_body = {"model": "practice", "messages": [{"role": "user", "content": "count to 2000"}], "stream": True}
    other_body = {"model": "practice", "messages": [{"role": "user", "content": "hello"}], "stream": True}

    async def scenario() -> tuple[float, int, int]:
        async with httpx.AsyncClient(timeout=10) as slow, httpx.AsyncClient(timeout=10) as other:
            async with slow.stream("POST", url, json=long_body) as response:
                lines = response.aiter_lines()
                assert (await anext(lines)).startswith("data: ")
                read = 1
                start = time.monotonic()
                async with other.stream("POST", url, json=other_body) as quick:
                    other_lines = quick.aiter_lines()
                    first = await anext(other_lines)
                    waited = time.monotonic() - start
                    assert first.startswith("data: ")
                    other_events = 1 + sum([line.startswith("data: ") async for line in other_lines])
                async for line in lines:  # the rest of the long stream, slowly
                    read += line.startswith("data: ")
                    if read % 100 == 0:
                        await asyncio.sleep(0.01)
        return waited, read, other_events

    waited, read, other_events = asyncio.run(scenario())
    assert waited < 0.5, f"first chunk after {waited:.3f} s"
    assert read == 2000 + 3  # role, 2000 numbers, finish, [DONE]
    assert other_events > 3 and other_events < read
    wait_until(lambda: stats.completed_streams == 2 and stats.active_streams == 0, 2, lambda: str(stats), interval=0.01)


def test_full_speed_pacing_hands_over_the_loop():
    """At 0 tokens/s, ``paced`` gives the event loop to other tasks every few events, so one
    long reply cannot monopolise the server (a timing-free check of what makes the test above hold)."""
    from helpers.server.stream import paced

    events = [b"data: {}\n\n"] * 2000

    async def count_turns() -> tuple[int, bytes]:
        turns = 0

        async def other_task() -> None:
            nonlocal turns
            while True:
                turns += 1
                await asyncio.sleep(0)

        ticker = asyncio.create_task(other_task())
        await asyncio.sleep(0)
        sent = b"".join([chunk async for chunk in paced(events, 0)])
        ticker.cancel()
        return turns, sent

    turns, sent = asyncio.run(count_turns())
    assert sent == b"".join(events), "every event, in order"
    assert turns >= len(events) / 64, f"only {turns} turns for the other task during {len(events)} events"


# --- the command line ------------------------------------------------------------------------


def helpers_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "helpers", *args]


def is_listening(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class CliServer:
    """``python -m helpers serve`` in a subprocess, with its output collected."""

    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            helpers_command("serve", "--port", str(self.port), *args),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT, env=child_env(),
        )
        self.first_line = self.process.stdout.readline()
        self.root_url = f"http://127.0.0.1:{self.port}"
        wait_until(lambda: self.process.poll() is not None or is_listening(self.port), 15,
                   f"python -m helpers serve did not listen on {self.port} within 15 s", interval=0.01)
        assert self.process.poll() is None, self.process.stderr.read()

    def interrupt(self, timeout: float = 5) -> tuple[int, float, str, str]:
        """Ctrl-C; returns the exit code, how long it took, stdout and stderr."""
        start = time.monotonic()
        self.process.send_signal(signal.SIGINT)
        try:
            out, err = self.process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            out, err = self.process.communicate()
            raise AssertionError(f"did not exit within {timeout} s of SIGINT:\n{err}") from None
        return self.process.returncode, time.monotonic() - start, self.first_line + out, err

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.communicate()


@pytest.fixture
def cli_server():
    started: list[CliServer] = []

    def start(*args: str) -> CliServer:
        server = CliServer(*args)
        started.append(server)
        return server

    yield start
    for server in started:
        server.kill()


@pytest.mark.timeout(30)
def test_serve_prints_the_base_url_answers_and_stops_on_ctrl_c(cli_server):
    server = cli_server("--no-access-log")
    assert f"http://localhost:{server.port}/v1" in server.first_line
    models = httpx.get(server.root_url + "/v1/models", timeout=10)
    assert "practice" in [m["id"] for m in models.json()["data"]]
    body = {"model": "practice", "messages": [{"role": "user", "content": "write a poem about a tree"}]}
    reply = httpx.post(server.root_url + "/v1/chat/completions", json=body, timeout=10)
    assert "Rooted deep" in reply.json()["choices"][0]["message"]["content"]

    code, took, _out, err = server.interrupt(timeout=5)
    assert code == 0, err
    assert took < 5
    assert not is_listening(server.port)


@pytest.mark.timeout(30)
def test_ctrl_c_during_a_stream_still_exits_cleanly(cli_server):
    server = cli_server("--no-access-log", "--tokens-per-second", "20")
    with httpx.Client(timeout=10) as client:
        with client.stream("POST", server.root_url + "/v1/chat/completions", json=STORY) as response:
            lines = response.iter_lines()
            assert next(lines).startswith("data: ")
            code, took, _out, err = server.interrupt(timeout=5)
    assert code == 0, err
    assert took < 5


@pytest.mark.timeout(30)
def test_serve_on_all_interfaces_without_a_key_refuses():
    port = free_port()
    result = subprocess.run(
        helpers_command("serve", "--host", "0.0.0.0", "--port", str(port)),
        capture_output=True, text=True, cwd=ROOT, env=child_env(), timeout=20,
    )
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert "--api-key" in said and "0.0.0.0" in said
    assert "Uvicorn running" not in said
    assert not is_listening(port)


@pytest.mark.timeout(30)
def test_serve_help_explains_faults():
    result = subprocess.run(helpers_command("serve", "--help"), capture_output=True, text=True, cwd=ROOT,
                            env=child_env(), timeout=20)
    assert result.returncode == 0
    assert "X-Practice-Fault" in result.stdout
    for word in ("--api-key", "--tokens-per-second", "stall", "429*1"):
        assert word in result.stdout


@pytest.mark.timeout(30)
def test_a_key_that_starts_with_a_dash(cli_server):
    """secrets.token_urlsafe() starts with "-" one time in 64; as one word (--api-key=KEY) argparse takes it."""
    key = "-room-key-7d1e"
    server = cli_server(f"--api-key={key}")
    url = server.root_url + "/v1/models"
    assert httpx.get(url, timeout=10).status_code == 401
    assert httpx.get(url, headers={"Authorization": f"Bearer {key}"}, timeout=10).status_code == 200


@pytest.mark.timeout(30)
def test_the_key_never_appears_in_the_server_output(cli_server):
    key, wrong = "sk-room-key-3c9e71f0", "sk-wrong-guess-5b28d4aa"
    server = cli_server("--api-key", key)
    assert "key required" in server.first_line
    url = server.root_url + "/v1/chat/completions"
    body = {"model": "practice", "messages": [{"role": "user", "content": "hello"}]}
    assert httpx.post(url, json=body, headers={"Authorization": f"Bearer {wrong}"}, timeout=10).status_code == 401
    assert httpx.post(url, json=body, timeout=10).status_code == 401
    assert httpx.post(url, json=body, headers={"Authorization": f"Bearer {key}"}, timeout=10).status_code == 200
    assert httpx.get(server.root_url + "/v1/models", headers={"Authorization": f"Bearer {wrong}"},
                     timeout=10).status_code == 401
    # A careless client may put the key in the URL: the access log leaves query strings out.
    assert httpx.get(server.root_url + f"/v1/models?api_key={key}", timeout=10).status_code == 401

    code, _took, out, err = server.interrupt()
    assert code == 0, err
    assert "POST /v1/chat/completions" in out + err, "the access log is on, so the requests were logged"
    assert "GET /v1/models?…" in out + err
    for secret in (key, wrong):
        assert secret not in out and secret not in err
