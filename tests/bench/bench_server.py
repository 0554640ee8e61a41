"""Benchmark the practice server against a "floor": the least a Starlette app can do to stream the same bytes.

    python -m tests.bench.bench_server [--json out.json] [--rounds N]    (make bench)

Everything runs on 127.0.0.1. The servers run in subprocesses (``python -m helpers serve`` and this module's
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
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import AsyncIterator

from tests.bench.core import (HOST, Sampler, Server, StreamRecord, Target, async_client, chat_body, cpu_seconds,
                              practice_args, read_stream, rss, run_loop, served, targets_table)
from tests.support import percentile, sse_events

TOKENS = 256
CONCURRENT = 50
SEQUENTIAL = 40
PACED_STREAMS = 200
PACED_TOKENS = 150
PACE = 30.0
SCENARIO_TIMEOUT = 90.0


# --- the floor server ------------------------------------------------------------------------


def uvicorn_settings() -> dict:
    """What ``helpers.server.serve`` passes to uvicorn.run (no access log, as ``--no-access-log``)."""
    return {"log_level": "info", "access_log": False, "timeout_graceful_shutdown": 2}


def run_floor_server(port: int, events_file: Path) -> None:
    """A Starlette app that streams precomputed SSE events (their data in a JSON list) with no logic at all."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    events = [f"data: {data}\n\n".encode() for data in json.loads(events_file.read_text())]

    async def stream() -> AsyncIterator[bytes]:
        for event in events:
            yield event

    async def chat_completions(request: Request) -> StreamingResponse:
        await request.body()
        return StreamingResponse(stream(), media_type="text/event-stream; charset=utf-8")

    app = Starlette(routes=[Route("/v1/chat/completions", chat_completions, methods=["POST"])])
    uvicorn.run(app, host=HOST, port=port, **uvicorn_settings())


# --- full speed: the client does as little as it can --------------------------------------------


@dataclass
class Arrival:
    ttfc: float  # seconds from sending the request to the first data: bytes
    chunks: int  # data: events, [DONE] included


async def count_stream(client, url: str) -> Arrival:
    """One full-speed stream, its ``data:`` events counted in the raw bytes: parsing them (as `read_stream`
    does, at about 8 µs an event) would make the client, not the server, the bottleneck being measured."""
    start = time.perf_counter()
    ttfc = None
    received = bytearray()
    async with client.stream("POST", url, json=chat_body(f"count to {TOKENS}")) as response:
        if response.status_code != 200:
            raise RuntimeError(f"{url} answered {response.status_code}: {(await response.aread())[:200]!r}")
        async for data in response.aiter_raw():
            received += data
            if ttfc is None and b"data:" in received:
                ttfc = time.perf_counter() - start
    if ttfc is None:
        raise RuntimeError(f"{url} sent no data")
    return Arrival(ttfc=ttfc, chunks=received.count(b"data: "))


@dataclass
class Throughput:
    chunks_per_second: float
    ttfc_p50_ms: float
    ttfc_p99_ms: float
    chunks: int
    server_cpu_us_per_chunk: float = 0.0  # CPU time of the server process: independent of the client's speed
    client_cpu_us_per_chunk: float = 0.0


def summarize(arrivals: list[Arrival], elapsed: float) -> Throughput:
    ttfcs = [a.ttfc for a in arrivals]
    return Throughput(
        chunks_per_second=sum(a.chunks for a in arrivals) / elapsed,
        ttfc_p50_ms=1000 * percentile(ttfcs, 0.50),
        ttfc_p99_ms=1000 * percentile(ttfcs, 0.99),
        chunks=sum(a.chunks for a in arrivals),
    )


async def sequential_streams(url: str, count: int) -> Throughput:
    async with async_client(1) as client:
        start = time.perf_counter()
        arrivals = [await count_stream(client, url) for _ in range(count)]
        return summarize(arrivals, time.perf_counter() - start)


async def concurrent_streams(url: str, count: int) -> Throughput:
    async with async_client(count) as client:
        start = time.perf_counter()
        arrivals = await asyncio.gather(*(count_stream(client, url) for _ in range(count)))
        return summarize(list(arrivals), time.perf_counter() - start)


def bounded(coroutine):
    """Run one scenario in a fresh event loop, with a deadline."""
    return run_loop(asyncio.wait_for(coroutine, SCENARIO_TIMEOUT))


def measured(server: Server, coroutine) -> Throughput:
    """Run a full-speed scenario and add the CPU each side spent per chunk."""
    server_before, client_before = cpu_seconds(server.pid), time.process_time()
    result: Throughput = bounded(coroutine)
    server_cpu, client_cpu = cpu_seconds(server.pid) - server_before, time.process_time() - client_before
    result.server_cpu_us_per_chunk = 1e6 * server_cpu / result.chunks
    result.client_cpu_us_per_chunk = 1e6 * client_cpu / result.chunks
    return result


def median_throughput(runs: list[Throughput]) -> Throughput:
    """Each figure's median over the rounds."""
    return Throughput(**{f.name: statistics.median(getattr(run, f.name) for run in runs) for f in fields(Throughput)})


@dataclass
class FullSpeed:
    """One server's full-speed figures: the median of the rounds, and every round."""

    one: Throughput  # SEQUENTIAL streams, one at a time
    concurrent: Throughput  # CONCURRENT streams at once
    rounds_one: list[Throughput]
    rounds_concurrent: list[Throughput]


def full_speed(rounds: list[tuple[Throughput, Throughput]]) -> FullSpeed:
    ones, concurrents = [one for one, _ in rounds], [concurrent for _, concurrent in rounds]
    return FullSpeed(median_throughput(ones), median_throughput(concurrents), ones, concurrents)


# --- paced ---------------------------------------------------------------------------------------


@dataclass
class Paced:
    streams: int
    complete_streams: int
    tokens_per_stream: float
    pace: float
    elapsed_s: float
    rate_min: float
    rate_p5: float
    rate_median: float
    rss_baseline_mb: float
    rss_peak_mb: float
    rss_samples: int


async def paced_streams(url: str) -> list[StreamRecord]:
    async with async_client(PACED_STREAMS) as client:
        body = chat_body(f"count to {PACED_TOKENS}")
        return list(await asyncio.gather(*(read_stream(client, url, body) for _ in range(PACED_STREAMS))))


def paced(server: Server) -> Paced:
    baseline = rss(server.pid)
    with Sampler(lambda: rss(server.pid), 0.1) as memory:
        start = time.monotonic()
        records = bounded(paced_streams(server.chat_url))
        elapsed = time.monotonic() - start
    rates = [record.rate or 0.0 for record in records]
    return Paced(
        streams=PACED_STREAMS,
        complete_streams=sum(r.chunks == PACED_TOKENS and r.error is None for r in records),
        tokens_per_stream=statistics.median(r.chunks for r in records),
        pace=PACE,
        elapsed_s=elapsed,
        rate_min=min(rates),
        rate_p5=percentile(rates, 0.05),
        rate_median=statistics.median(rates),
        rss_baseline_mb=baseline / 2**20,
        rss_peak_mb=max(memory.values) / 2**20,
        rss_samples=len(memory.values),
    )


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Results:
    rounds: int
    python: str
    loop: str
    chunks_per_stream: int
    practice: FullSpeed
    floor: FullSpeed
    paced: Paced
    runtime_s: float

    @property
    def targets(self) -> list[Target]:
        ratio = self.practice.concurrent.chunks_per_second / self.floor.concurrent.chunks_per_second
        ttfc = self.practice.concurrent.ttfc_p99_ms
        paced = self.paced
        return [
            Target(f"aggregate chunks/s at {CONCURRENT} concurrent >= 0.8x floor", f"{ratio:.2f}x", ratio >= 0.8),
            Target(f"p99 time to first chunk at {CONCURRENT} concurrent <= 100 ms", f"{ttfc:.1f} ms", ttfc <= 100),
            Target(f"paced: every stream >= 95% of {PACE:g} tokens/s", f"{paced.rate_min / PACE:.1%}",
                   paced.rate_min >= 0.95 * PACE and paced.complete_streams == paced.streams),
            Target("paced: server peak RSS < 150 MB", f"{paced.rss_peak_mb:.1f} MB", paced.rss_peak_mb < 150),
        ]


def run(rounds: int) -> Results:
    started_at = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-server-") as tmp:
        workdir = Path(tmp)
        with served("practice", practice_args("--tokens-per-second", "0"), workdir) as practice:
            import httpx

            reply = httpx.post(practice.chat_url, json=chat_body(f"count to {TOKENS}"), timeout=60)
            reply.raise_for_status()
            events = [event.data for event in sse_events(reply)]
            content_chunks = reply.content.count(b'"delta":{"content":')
            assert content_chunks == TOKENS, f"expected {TOKENS} content chunks, got {content_chunks}"
            events_file = workdir / "events.json"
            events_file.write_text(json.dumps(events))

            floor_args = ["tests.bench.bench_server", "--floor-server", "{port}", "--events", str(events_file)]
            with served("floor", floor_args, workdir) as floor:
                servers = {"practice": practice, "floor": floor}
                for server in servers.values():  # warm up: imports, first connections
                    bounded(concurrent_streams(server.chat_url, 5))
                measured_rounds: dict[str, list[tuple[Throughput, Throughput]]] = {name: [] for name in servers}
                for round_index in range(rounds):
                    order = list(servers) if round_index % 2 == 0 else list(reversed(servers))
                    for name in order:
                        server = servers[name]
                        one = measured(server, sequential_streams(server.chat_url, SEQUENTIAL))
                        concurrent = measured(server, concurrent_streams(server.chat_url, CONCURRENT))
                        for streams, result in ((SEQUENTIAL, one), (CONCURRENT, concurrent)):
                            if result.chunks != streams * len(events):
                                raise RuntimeError(f"{name}: {result.chunks} chunks instead of {streams * len(events)}")
                        measured_rounds[name].append((one, concurrent))

        with served("practice-paced", practice_args("--tokens-per-second", f"{PACE:g}"), workdir) as paced_server:
            paced_figures = paced(paced_server)
    return Results(
        rounds=rounds, python=sys.version.split()[0], loop=loop_name(), chunks_per_stream=len(events),
        practice=full_speed(measured_rounds["practice"]), floor=full_speed(measured_rounds["floor"]),
        paced=paced_figures, runtime_s=time.monotonic() - started_at,
    )


def loop_name() -> str:
    """The event loop and HTTP parser uvicorn picks here (the client uses the same loop)."""
    import importlib.util

    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return f"{loop} + {http}"


def table(results: Results) -> str:
    lines = [
        f"Practice server vs floor: {TOKENS}-token replies at full speed, median of {results.rounds} rounds "
        f"({results.chunks_per_stream} data: events per stream; Python {results.python}, {results.loop}).",
        "",
        "| scenario | metric | practice | floor | practice/floor |",
        "|---|---|---:|---:|---:|",
    ]
    for label, p, f in ((f"1 stream ({SEQUENTIAL} in a row)", results.practice.one, results.floor.one),
                        (f"{CONCURRENT} concurrent", results.practice.concurrent, results.floor.concurrent)):
        lines.append(f"| {label} | chunks/s | {p.chunks_per_second:,.0f} | {f.chunks_per_second:,.0f} | "
                     f"{p.chunks_per_second / f.chunks_per_second:.2f}x |")
        for key, name in (("ttfc_p50_ms", "TTFC p50 (ms)"), ("ttfc_p99_ms", "TTFC p99 (ms)"),
                          ("server_cpu_us_per_chunk", "server CPU per chunk (µs)"),
                          ("client_cpu_us_per_chunk", "client CPU per chunk (µs)")):
            mine, theirs = getattr(p, key), getattr(f, key)
            lines.append(f"| {label} | {name} | {mine:.1f} | {theirs:.1f} | {mine / theirs:.2f}x |")
    paced = results.paced
    lines += [
        "",
        f"Paced: {paced.streams} concurrent streams of {paced.tokens_per_stream:.0f} tokens at "
        f"{paced.pace:g} tokens/s ({paced.elapsed_s:.1f} s; {paced.complete_streams} streams complete).",
        "",
        "| metric | value |",
        "|---|---:|",
        f"| slowest stream (tokens/s) | {paced.rate_min:.2f} ({paced.rate_min / PACE:.1%}) |",
        f"| 5th percentile (tokens/s) | {paced.rate_p5:.2f} ({paced.rate_p5 / PACE:.1%}) |",
        f"| median (tokens/s) | {paced.rate_median:.2f} ({paced.rate_median / PACE:.1%}) |",
        f"| server RSS at start (MB) | {paced.rss_baseline_mb:.1f} |",
        f"| server peak RSS (MB, {paced.rss_samples} samples) | {paced.rss_peak_mb:.1f} |",
        "",
        *targets_table(results.targets),
        "",
        f"Total benchmark time: {results.runtime_s:.0f} s.",
    ]
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
        figures = {**asdict(results), "targets": [asdict(target) for target in results.targets]}
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
        print(f"\nFigures written to {args.json}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
