"""Benchmark the practice server against a "floor": the least a Starlette app can do to stream the same bytes.

    python tests/bench/bench_server.py [--json out.json] [--rounds N]    (make bench)

Everything runs on 127.0.0.1. The servers run in subprocesses (``python -m helpers serve`` and this file's
``--floor-server``, both under uvicorn with the same settings); this process is the client, a raw
``httpx.AsyncClient``. Scenarios:

* full speed (``--tokens-per-second 0``), 256-token replies ("count to 256"): 1 stream at a time
  (sequential requests) and 50 concurrent streams; aggregate chunks/s (every ``data:`` event counts)
  and time to first chunk (the first ``data:`` bytes), median of the rounds (5), servers alternating;
  also the CPU time each side spends per chunk, which does not depend on how fast the client reads;
* paced (the default 30 tokens/s): 200 concurrent streams of 150 tokens; each stream's rate is
  (content chunks - 1) / (last - first content chunk), and the server's peak RSS is sampled every 100 ms.

It prints a markdown table with PASS/FAIL per target and always exits 0 (unless it could not run at all).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import AsyncIterator, Iterator

from helpers.server.testing import free_port

from bench_common import percentile, stop_server  # this script's folder is on sys.path

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
TOKENS = 256
CONCURRENT = 50
SEQUENTIAL = 40
PACED_STREAMS = 200
PACED_TOKENS = 150
PACE = 30.0
REQUEST_TIMEOUT = 60.0
SCENARIO_TIMEOUT = 90.0

TARGETS = {
    "throughput_50": "aggregate chunks/s at 50 concurrent >= 0.8x floor",
    "ttfc_p99_50": "p99 time to first chunk at 50 concurrent <= 100 ms",
    "paced_rate": f"paced: every stream >= 95% of {PACE:g} tokens/s",
    "paced_rss": "paced: server peak RSS < 150 MB",
}


def chat_body(tokens: int) -> dict:
    return {"model": "practice", "messages": [{"role": "user", "content": f"count to {tokens}"}], "stream": True}


# --- the floor server ------------------------------------------------------------------------


def uvicorn_settings() -> dict:
    """What ``helpers.server.serve`` passes to uvicorn.run (no access log, as ``--no-access-log``)."""
    return {"log_level": "info", "access_log": False, "timeout_graceful_shutdown": 2}


def run_floor_server(port: int, events_file: Path) -> None:
    """A Starlette app that streams precomputed SSE events with no logic at all."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    body = events_file.read_bytes()
    events = [event + b"\n\n" for event in body.split(b"\n\n") if event]

    async def stream() -> AsyncIterator[bytes]:
        for event in events:
            yield event

    async def chat_completions(request: Request) -> StreamingResponse:
        await request.body()
        return StreamingResponse(stream(), media_type="text/event-stream; charset=utf-8")

    app = Starlette(routes=[Route("/v1/chat/completions", chat_completions, methods=["POST"])])
    uvicorn.run(app, host=HOST, port=port, **uvicorn_settings())


# --- subprocesses ----------------------------------------------------------------------------


def child_env() -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1"}


@dataclass
class Server:
    name: str
    port: int
    process: subprocess.Popen
    log: Path

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/v1/chat/completions"


def wait_until_listening(server: Server, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"{server.name} server exited:\n{server.log.read_text()[-2000:]}")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex((HOST, server.port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"{server.name} server did not listen on {server.port} within {timeout} s")


@contextmanager
def started(name: str, args: list[str], workdir: Path) -> Iterator[Server]:
    """Start a server subprocess, wait until it listens, and always stop it afterwards."""
    port = free_port()
    log = workdir / f"{name}.log"
    with log.open("wb") as log_file:
        process = subprocess.Popen(
            [sys.executable, *[a.replace("{port}", str(port)) for a in args]],
            stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT, env=child_env(),
        )
    server = Server(name, port, process, log)
    try:
        wait_until_listening(server)
        yield server
    finally:
        stop_server(process)


def practice_args(tokens_per_second: float) -> list[str]:
    return ["-m", "helpers", "serve", "--port", "{port}", "--tokens-per-second", f"{tokens_per_second:g}",
            "--no-access-log"]


# --- the client ------------------------------------------------------------------------------


def new_client(connections: int):
    import httpx

    return httpx.AsyncClient(
        timeout=httpx.Timeout(REQUEST_TIMEOUT),
        limits=httpx.Limits(max_connections=connections, max_keepalive_connections=connections),
    )


@dataclass
class StreamResult:
    ttfc: float  # seconds from sending the request to the first data: bytes
    chunks: int  # data: events, [DONE] included
    content_times: list[float] = field(default_factory=list)  # arrival of each content chunk (paced runs)


async def one_stream(client, url: str, body: dict, timed_content: bool = False) -> StreamResult:
    start = time.perf_counter()
    ttfc = None
    received = bytearray()
    content_times: list[float] = []
    pending = b""
    async with client.stream("POST", url, json=body) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {(await response.aread())[:200]!r}")
        async for data in response.aiter_raw():
            now = time.perf_counter()
            received += data
            if ttfc is None and b"data:" in received:
                ttfc = now - start
            if timed_content:
                pending += data
                *events, pending = pending.split(b"\n\n")
                content_times += [now for event in events if b'"delta":{"content":' in event]
    if ttfc is None:
        raise RuntimeError(f"{url} sent no data")
    return StreamResult(ttfc=ttfc, chunks=received.count(b"data: "), content_times=content_times)


@dataclass
class Throughput:
    chunks_per_second: float
    ttfc_p50_ms: float
    ttfc_p99_ms: float
    chunks: int
    server_cpu_us_per_chunk: float = 0.0  # CPU time of the server process: independent of the client's speed
    client_cpu_us_per_chunk: float = 0.0


def summarize(results: list[StreamResult], elapsed: float) -> Throughput:
    ttfcs = [r.ttfc for r in results]
    return Throughput(
        chunks_per_second=sum(r.chunks for r in results) / elapsed,
        ttfc_p50_ms=1000 * percentile(ttfcs, 0.50),
        ttfc_p99_ms=1000 * percentile(ttfcs, 0.99),
        chunks=sum(r.chunks for r in results),
    )


async def sequential_streams(url: str, count: int) -> Throughput:
    async with new_client(1) as client:
        start = time.perf_counter()
        results = [await one_stream(client, url, chat_body(TOKENS)) for _ in range(count)]
        return summarize(results, time.perf_counter() - start)


async def concurrent_streams(url: str, count: int) -> Throughput:
    async with new_client(count) as client:
        start = time.perf_counter()
        results = await asyncio.gather(*(one_stream(client, url, chat_body(TOKENS)) for _ in range(count)))
        return summarize(list(results), time.perf_counter() - start)


def cpu_seconds(pid: int) -> float:
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def measured(server: "Server", coroutine) -> Throughput:
    """Run a full-speed scenario and add the CPU each side spent per chunk."""
    server_before, client_before = cpu_seconds(server.process.pid), time.process_time()
    result: Throughput = bounded(coroutine)
    server_cpu, client_cpu = cpu_seconds(server.process.pid) - server_before, time.process_time() - client_before
    result.server_cpu_us_per_chunk = 1e6 * server_cpu / result.chunks
    result.client_cpu_us_per_chunk = 1e6 * client_cpu / result.chunks
    return result


def bounded(coroutine):
    """Run one scenario in a fresh event loop (uvloop when installed, as the servers), with a deadline."""
    guarded = asyncio.wait_for(coroutine, SCENARIO_TIMEOUT)
    try:
        import uvloop
    except ImportError:
        return asyncio.run(guarded)
    return uvloop.run(guarded)


# --- paced -----------------------------------------------------------------------------------


class RssSampler:
    """Sample a process's RSS every 100 ms in a thread; ``peak`` in bytes."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.interval = interval
        self.samples: list[int] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.samples.append(self.process.memory_info().rss)
            except Exception:  # noqa: BLE001 - the process may be gone at the very end
                return
            self.stop.wait(self.interval)

    def __enter__(self) -> "RssSampler":
        self.thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        self.thread.join(timeout=2)

    @property
    def peak(self) -> int:
        return max(self.samples)


async def paced_streams(url: str) -> tuple[list[float], list[int]]:
    async with new_client(PACED_STREAMS) as client:
        results = await asyncio.gather(
            *(one_stream(client, url, chat_body(PACED_TOKENS), timed_content=True) for _ in range(PACED_STREAMS))
        )
    rates, counts = [], []
    for result in results:
        times = result.content_times
        counts.append(len(times))
        rates.append((len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0)
    return rates, counts


# --- the run ---------------------------------------------------------------------------------


def median_throughput(runs: list[Throughput]) -> Throughput:
    """Each figure's median over the rounds."""
    return Throughput(**{
        name: statistics.median(getattr(run, name) for run in runs) for name in Throughput.__dataclass_fields__
    })


def run(rounds: int) -> dict:
    started_at = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        workdir = Path(tmp)
        events_file = workdir / "events.sse"
        results: dict = {"rounds": rounds, "python": sys.version.split()[0], "loop": loop_name()}

        with started("practice", practice_args(0), workdir) as practice:
            import httpx

            reply = httpx.post(practice.url, json=chat_body(TOKENS), timeout=REQUEST_TIMEOUT)
            reply.raise_for_status()
            events_file.write_bytes(reply.content)
            content_chunks = reply.content.count(b'"delta":{"content":')
            assert content_chunks == TOKENS, f"expected {TOKENS} content chunks, got {content_chunks}"
            results["chunks_per_stream"] = reply.content.count(b"data: ")

            floor_args = [str(Path(__file__).resolve()), "--floor-server", "{port}", "--events", str(events_file)]
            with started("floor", floor_args, workdir) as floor:
                servers = {"practice": practice, "floor": floor}
                for server in servers.values():  # warm up: imports, first connections
                    bounded(concurrent_streams(server.url, 5))
                runs: dict[str, dict[str, list[Throughput]]] = {
                    name: {"1": [], str(CONCURRENT): []} for name in servers
                }
                for round_index in range(rounds):
                    order = list(servers) if round_index % 2 == 0 else list(reversed(servers))
                    for name in order:
                        url = servers[name].url
                        server = servers[name]
                        for count, streams, scenario in ((1, SEQUENTIAL, sequential_streams),
                                                         (CONCURRENT, CONCURRENT, concurrent_streams)):
                            result = measured(server, scenario(url, streams))
                            expected = streams * results["chunks_per_stream"]
                            if result.chunks != expected:
                                raise RuntimeError(f"{name}: {result.chunks} chunks instead of {expected}")
                            runs[name][str(count)].append(result)
                results["full_speed"] = {
                    name: {streams: asdict(median_throughput(values)) for streams, values in by_streams.items()}
                    for name, by_streams in runs.items()
                }
                results["full_speed_runs"] = {
                    name: {streams: [asdict(v) for v in values] for streams, values in by_streams.items()}
                    for name, by_streams in runs.items()
                }

        with started("practice-paced", practice_args(PACE), workdir) as paced_server:
            import psutil

            baseline = psutil.Process(paced_server.process.pid).memory_info().rss
            with RssSampler(paced_server.process.pid) as sampler:
                start = time.monotonic()
                rates, counts = bounded(paced_streams(paced_server.url))
                paced_elapsed = time.monotonic() - start
            results["paced"] = {
                "streams": PACED_STREAMS,
                "complete_streams": sum(count == PACED_TOKENS for count in counts),
                "tokens_per_stream": statistics.median(counts),
                "pace": PACE,
                "elapsed_s": paced_elapsed,
                "rate_min": min(rates),
                "rate_p5": percentile(rates, 0.05),
                "rate_median": statistics.median(rates),
                "rss_baseline_mb": baseline / 2**20,
                "rss_peak_mb": sampler.peak / 2**20,
                "rss_samples": len(sampler.samples),
            }
        results["runtime_s"] = time.monotonic() - started_at
    results["targets"] = judge(results)
    return results


def loop_name() -> str:
    """The event loop and HTTP parser uvicorn picks here (the client uses the same loop)."""
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"{loop} + {http}"


def judge(results: dict) -> dict:
    practice, floor = results["full_speed"]["practice"], results["full_speed"]["floor"]
    paced = results["paced"]
    c = str(CONCURRENT)
    ratio = practice[c]["chunks_per_second"] / floor[c]["chunks_per_second"]
    return {
        "throughput_50": {"value": ratio, "pass": ratio >= 0.8},
        "ttfc_p99_50": {"value": practice[c]["ttfc_p99_ms"], "pass": practice[c]["ttfc_p99_ms"] <= 100},
        "paced_rate": {
            "value": paced["rate_min"] / PACE,
            "pass": paced["rate_min"] >= 0.95 * PACE and paced["complete_streams"] == paced["streams"],
        },
        "paced_rss": {"value": paced["rss_peak_mb"], "pass": paced["rss_peak_mb"] < 150},
    }


def table(results: dict) -> str:
    practice, floor = results["full_speed"]["practice"], results["full_speed"]["floor"]
    lines = [
        f"Practice server vs floor: {TOKENS}-token replies at full speed, median of {results['rounds']} rounds "
        f"({results['chunks_per_stream']} data: events per stream; Python {results['python']}, {results['loop']}).",
        "",
        "| scenario | metric | practice | floor | practice/floor |",
        "|---|---|---:|---:|---:|",
    ]
    for streams, label in (("1", f"1 stream ({SEQUENTIAL} in a row)"), (str(CONCURRENT), f"{CONCURRENT} concurrent")):
        p, f = practice[streams], floor[streams]
        lines.append(f"| {label} | chunks/s | {p['chunks_per_second']:,.0f} | {f['chunks_per_second']:,.0f} | "
                     f"{p['chunks_per_second'] / f['chunks_per_second']:.2f}x |")
        for key, name in (("ttfc_p50_ms", "TTFC p50 (ms)"), ("ttfc_p99_ms", "TTFC p99 (ms)"),
                          ("server_cpu_us_per_chunk", "server CPU per chunk (µs)"),
                          ("client_cpu_us_per_chunk", "client CPU per chunk (µs)")):
            lines.append(f"| {label} | {name} | {p[key]:.1f} | {f[key]:.1f} | {p[key] / f[key]:.2f}x |")
    paced = results["paced"]
    lines += [
        "",
        f"Paced: {paced['streams']} concurrent streams of {paced['tokens_per_stream']:.0f} tokens at "
        f"{paced['pace']:g} tokens/s ({paced['elapsed_s']:.1f} s; {paced['complete_streams']} streams complete).",
        "",
        "| metric | value |",
        "|---|---:|",
        f"| slowest stream (tokens/s) | {paced['rate_min']:.2f} ({paced['rate_min'] / PACE:.1%}) |",
        f"| 5th percentile (tokens/s) | {paced['rate_p5']:.2f} ({paced['rate_p5'] / PACE:.1%}) |",
        f"| median (tokens/s) | {paced['rate_median']:.2f} ({paced['rate_median'] / PACE:.1%}) |",
        f"| server RSS at start (MB) | {paced['rss_baseline_mb']:.1f} |",
        f"| server peak RSS (MB, {paced['rss_samples']} samples) | {paced['rss_peak_mb']:.1f} |",
        "",
        "| target | measured | result |",
        "|---|---:|---|",
    ]
    shown = {
        "throughput_50": lambda v: f"{v:.2f}x",
        "ttfc_p99_50": lambda v: f"{v:.1f} ms",
        "paced_rate": lambda v: f"{v:.1%}",
        "paced_rss": lambda v: f"{v:.1f} MB",
    }
    for key, verdict in results["targets"].items():
        lines.append(f"| {TARGETS[key]} | {shown[key](verdict['value'])} | {'PASS' if verdict['pass'] else 'FAIL'} |")
    lines += ["", f"Total benchmark time: {results['runtime_s']:.0f} s."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per full-speed scenario (default 5)")
    parser.add_argument("--floor-server", type=int, metavar="PORT", help=argparse.SUPPRESS)
    parser.add_argument("--events", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.floor_server is not None:
        run_floor_server(args.floor_server, args.events)
        return 0

    results = run(max(1, args.rounds))
    print(table(results))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
        print(f"\nFigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
