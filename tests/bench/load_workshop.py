"""Load test of workshop mode: a room of students streaming from one practice server at once.

    python -m tests.bench.load_workshop [--students 100] [--streams-each 3] [--clients 2] [--json out.json]

Starts ``python -m helpers serve --host 127.0.0.1 --port FREE --no-access-log --api-key RANDOM``
(workshop mode: the key is required; this script only ever talks to 127.0.0.1), then every
student streams ``--streams-each`` replies at once ("count to 200": 200 content chunks each) at
the server's default pacing (30 tokens/s), with the key, from ``--clients`` client processes
(raw ``httpx.AsyncClient`` on uvloop, so that the client side is not the bottleneck on a small
machine). Per stream it measures the content chunks and the rate, (chunks - 1) / (last - first
content chunk). During the load, a request with a wrong key and one with no key must get 401,
and the server's RSS (with any children) is sampled every 100 ms.

Prints a markdown table with PASS/FAIL per target; exits 1 if a target is missed, 2 if the run
could not finish (a hard timeout, 180 s by default, stops everything it started).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from tests.bench.core import (Sampler, StreamRecord, Target, async_client, chat_body, cpu_seconds,
                              practice_args, read_stream, rss, run_loop, served, targets_table,
                              with_watchdog)
from tests.support import child_env, percentile

PACE = 30.0  # the server's default --tokens-per-second, which this test does not pass
RSS_LIMIT_MB = 150.0
MIN_RATE_FRACTION = 0.95


# --- the client processes --------------------------------------------------------------------


@dataclass
class ClientReport:
    index: int
    records: list[StreamRecord]
    cpu_s: float  # CPU time the client process spent from the common start


async def client_streams(url: str, key: str, prompt: str, streams: int, timeout: float, ready,
                         go) -> list[StreamRecord]:
    """Open the client (its SSL context and pool) first, say ready, then start every stream at the signal."""
    headers = {"Authorization": f"Bearer {key}"}
    async with async_client(streams) as client:
        ready()
        await asyncio.get_running_loop().run_in_executor(None, go.wait)
        tasks = [asyncio.ensure_future(read_stream(client, url, chat_body(prompt), headers)) for _ in range(streams)]
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        records = [task.result() for task in done]
        records += [StreamRecord(sent=0.0, started=0.0, error="did not finish before the deadline") for _ in pending]
        return records


def client_process(index: int, url: str, key: str, prompt: str, streams: int, timeout: float, ready, go, out) -> None:
    """A client process: set up, say ready, wait for the common start, stream, report."""
    cpu = {}

    def say_ready() -> None:
        ready.put(index)
        cpu["start"] = time.process_time()

    records = run_loop(client_streams(url, key, prompt, streams, timeout, say_ready, go))
    out.put(ClientReport(index, records, time.process_time() - cpu["start"]))


# --- during the load -------------------------------------------------------------------------


@dataclass
class Answer:
    status: int
    ms: float
    error_code: str | None = None


@dataclass
class KeyChecks:
    """Requests during the load: a wrong key and no key must get 401, the right key's model list 200."""

    active_streams: int  # when the checks began, by the server's count
    wrong_key: Answer
    no_key: Answer
    right_key_models: Answer


def timed(send) -> Answer:
    start = time.perf_counter()
    response = send()
    ms = 1000 * (time.perf_counter() - start)
    is_json = response.headers.get("content-type", "").startswith("application/json")
    return Answer(response.status_code, ms, (response.json().get("error") or {}).get("code") if is_json else None)


def key_checks(client, root: str, key: str) -> KeyChecks:
    url = f"{root}/v1/chat/completions"
    right, wrong = {"Authorization": f"Bearer {key}"}, {"Authorization": f"Bearer {key}-wrong"}
    stats = client.get(f"{root}/practice/stats", headers=right).json()
    return KeyChecks(
        active_streams=stats["active_streams"],
        wrong_key=timed(lambda: client.post(url, json=chat_body("hello"), headers=wrong)),
        no_key=timed(lambda: client.post(url, json=chat_body("hello"))),
        right_key_models=timed(lambda: client.get(f"{root}/v1/models", headers=right)),
    )


def active_streams(client, root: str, key: str) -> int:
    return client.get(f"{root}/practice/stats", headers={"Authorization": f"Bearer {key}"}).json()["active_streams"]


def peak_overlap(records: list[StreamRecord]) -> int:
    """The most streams open at the same moment, as the clients saw them."""
    ended = [r for r in records if r.ended]
    edges = sorted([(r.started, 1) for r in ended] + [(r.ended, -1) for r in ended])
    active = peak = 0
    for _, step in edges:
        active += step
        peak = max(peak, active)
    return peak


# --- the run ---------------------------------------------------------------------------------


@dataclass
class Figures:
    students: int
    streams_each: int
    streams: int
    clients: int
    prompt: str
    pace: float
    python: str
    cpus: int | None
    completed: int
    errors: dict[str, int]
    chunks_min: int
    chunks_max: int
    rate_fraction_min: float
    rate_fraction_p5: float
    rate_fraction_median: float
    rate_fraction_max: float
    ttft_p50_ms: float
    ttft_p99_ms: float
    ttft_max_ms: float
    peak_concurrent_client: int
    peak_active_server: int
    rss_idle_mb: float
    rss_peak_mb: float
    rss_samples: int
    server_cpu_percent: float
    client_cpu_percent: list[float]
    elapsed_s: float
    key_checks: KeyChecks
    rate_fractions: list[float]

    @property
    def targets(self) -> list[Target]:
        limit = f"{MIN_RATE_FRACTION:.0%} of {PACE:g} tok/s"
        checks = self.key_checks
        return [
            Target(f"all {self.streams} streams complete, no error", f"{self.completed}/{self.streams}",
                   self.completed == self.streams),
            Target(f"all {self.streams} streams open at once",
                   f"{self.peak_active_server} (server), {self.peak_concurrent_client} (clients)",
                   self.peak_concurrent_client == self.streams and self.peak_active_server >= self.streams),
            Target(f"slowest stream >= {limit}", f"{self.rate_fraction_min:.1%}",
                   self.rate_fraction_min >= MIN_RATE_FRACTION),
            Target(f"p5 of streams >= {limit}", f"{self.rate_fraction_p5:.1%}",
                   self.rate_fraction_p5 >= MIN_RATE_FRACTION),
            Target(f"server peak RSS < {RSS_LIMIT_MB:g} MB", f"{self.rss_peak_mb:.1f} MB (idle {self.rss_idle_mb:.1f})",
                   0 < self.rss_peak_mb < RSS_LIMIT_MB),
            Target("wrong key during the load: 401",
                   f"{checks.wrong_key.status} in {checks.wrong_key.ms:.0f} ms, {checks.active_streams} streams open",
                   checks.wrong_key.status == 401 and checks.active_streams >= 0.9 * self.streams),
            Target("no key during the load: 401", f"{checks.no_key.status} in {checks.no_key.ms:.0f} ms",
                   checks.no_key.status == 401),
        ]

    @property
    def passed(self) -> bool:
        return all(target.passed for target in self.targets)


def run(args: argparse.Namespace) -> Figures:
    import httpx

    total = args.students * args.streams_each
    key = secrets.token_urlsafe(16)
    context = mp.get_context("spawn")
    env = child_env(OPENAI_BASE_URL=None, OPENAI_API_KEY=None)  # the key is the one given, nothing else
    with tempfile.TemporaryDirectory(prefix="load-workshop-") as tmp, \
            served("server", practice_args(f"--api-key={key}"), Path(tmp), env=env, own_group=True) as server:
        rss_idle = rss(server.pid)
        ready, go, out = context.Queue(), context.Event(), context.Queue()
        shares = [total // args.clients + (1 if i < total % args.clients else 0) for i in range(args.clients)]
        clients = [context.Process(target=client_process, daemon=True,
                                   args=(i, server.chat_url, key, args.prompt, n, args.timeout - 30, ready, go, out))
                   for i, n in enumerate(shares)]
        try:
            for client in clients:
                client.start()
            for _ in clients:
                ready.get(timeout=60)

            # Made before the load, as their SSL contexts are slow to build: one to check the key, one to sample.
            checker, sampler = httpx.Client(timeout=30), httpx.Client(timeout=5)
            with checker, sampler, Sampler(lambda: rss(server.pid, with_children=True), 0.1) as memory, \
                    Sampler(lambda: active_streams(sampler, server.root_url, key), 0.5) as active:
                server_cpu = cpu_seconds(server.pid)
                started = time.monotonic()
                go.set()
                time.sleep(args.check_after)  # the streams are all open by now: check the key under load
                checks = key_checks(checker, server.root_url, key)
                reports: list[ClientReport] = [out.get(timeout=args.timeout) for _ in clients]
                elapsed = time.monotonic() - started
                server_cpu = cpu_seconds(server.pid) - server_cpu
            for client in clients:
                client.join(timeout=10)
        finally:
            for client in clients:
                if client.is_alive():
                    client.kill()

    records = [record for report in reports for record in report.records]
    good = [r for r in records if not r.error]
    fractions = [r.rate / PACE for r in good if r.rate is not None]
    ttfts = [r.ttft for r in good if r.ttft is not None]
    errors: dict[str, int] = {}
    for record in records:
        if record.error:
            errors[record.error[:120]] = errors.get(record.error[:120], 0) + 1
    return Figures(
        students=args.students, streams_each=args.streams_each, streams=total, clients=args.clients,
        prompt=args.prompt, pace=PACE, python=sys.version.split()[0], cpus=os.cpu_count(),
        completed=len(good), errors=errors,
        chunks_min=min((r.chunks for r in records), default=0),
        chunks_max=max((r.chunks for r in records), default=0),
        rate_fraction_min=min(fractions, default=0.0),
        rate_fraction_p5=percentile(fractions, 0.05),
        rate_fraction_median=statistics.median(fractions) if fractions else 0.0,
        rate_fraction_max=max(fractions, default=0.0),
        ttft_p50_ms=1000 * percentile(ttfts, 0.5), ttft_p99_ms=1000 * percentile(ttfts, 0.99),
        ttft_max_ms=1000 * max(ttfts, default=float("nan")),
        peak_concurrent_client=peak_overlap(records),
        peak_active_server=max(active.values, default=0),
        rss_idle_mb=rss_idle / 2**20,
        rss_peak_mb=max(memory.values, default=0) / 2**20,
        rss_samples=len(memory.values),
        server_cpu_percent=100 * server_cpu / elapsed,
        client_cpu_percent=[100 * report.cpu_s / elapsed for report in sorted(reports, key=lambda r: r.index)],
        elapsed_s=elapsed,
        key_checks=checks,
        rate_fractions=sorted(round(x, 4) for x in fractions),
    )


def report(f: Figures) -> str:
    models = f.key_checks.right_key_models
    lines = [
        f"Workshop mode: {f.students} students x {f.streams_each} streams = {f.streams} concurrent streams "
        f"of \"{f.prompt}\" at the default {f.pace:g} tok/s, key required, {f.clients} client processes, "
        f"{f.cpus} CPUs, Python {f.python}, {f.elapsed_s:.1f} s.",
        "",
        *targets_table(f.targets),
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| content chunks per stream | {f.chunks_min}-{f.chunks_max} |",
        f"| rate / {f.pace:g} tok/s: min, p5, median, max | {f.rate_fraction_min:.1%}, "
        f"{f.rate_fraction_p5:.1%}, {f.rate_fraction_median:.1%}, {f.rate_fraction_max:.1%} |",
        f"| time to first token: p50, p99, max | {f.ttft_p50_ms:.0f}, {f.ttft_p99_ms:.0f}, {f.ttft_max_ms:.0f} ms |",
        f"| server CPU during the load | {f.server_cpu_percent:.0f}% of one core |",
        f"| client processes' CPU | {', '.join(f'{c:.0f}%' for c in f.client_cpu_percent)} |",
        f"| server RSS: idle, peak ({f.rss_samples} samples) | {f.rss_idle_mb:.1f} MB, {f.rss_peak_mb:.1f} MB |",
        f"| right key's GET /v1/models during the load | {models.status} in {models.ms:.0f} ms |",
    ]
    if f.errors:
        lines += ["", "Errors:"] + [f"- {count} x {error}" for error, count in f.errors.items()]
    lines += ["", "PASS" if f.passed else "FAIL"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--streams-each", type=int, default=3)
    parser.add_argument("--clients", type=int, default=2, help="client processes (default 2)")
    parser.add_argument("--prompt", default="count to 200", help="what every student asks (default: 200 tokens)")
    parser.add_argument("--check-after", type=float, default=2.0,
                        help="seconds into the load to send the wrong-key and no-key requests")
    parser.add_argument("--timeout", type=float, default=180.0, help="hard limit for the whole run (seconds)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    figures = with_watchdog(lambda: run(args), args.timeout, "the load test")
    if figures is None:
        return 2
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps({**asdict(figures), "targets": [asdict(t) for t in figures.targets],
                                         "passed": figures.passed}, indent=2) + "\n")
    return 0 if figures.passed else 1


if __name__ == "__main__":
    sys.exit(main())
