"""Load test of workshop mode: a room of students streaming from one practice server at once.

    python tests/bench/load_workshop.py [--students 100] [--streams-each 3] [--clients 2] [--json out.json]

Starts ``python -m helpers serve --host 127.0.0.1 --port FREE --api-key RANDOM --no-access-log``
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
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from helpers.server.testing import free_port

from bench_common import percentile, stop_server  # this script's folder is on sys.path

ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"  # loopback only: never a target on the network
PACE = 30.0  # the server's default --tokens-per-second, which this test does not pass
RSS_LIMIT_MB = 150.0
MIN_RATE_FRACTION = 0.95


# --- the client processes --------------------------------------------------------------------


async def one_stream(client, url: str, key: str, prompt: str) -> dict:
    """One student's stream: status, content chunk arrival times (perf_counter), ending."""
    body = {"model": "practice", "messages": [{"role": "user", "content": prompt}], "stream": True}
    record = {"status": None, "chunks": 0, "first": None, "last": None, "ttft": None, "finish_reason": None,
              "done": False, "error": None, "started": time.time(), "ended": None}
    sent = time.perf_counter()
    try:
        async with client.stream("POST", url, json=body, headers={"Authorization": f"Bearer {key}"}) as response:
            record["status"] = response.status_code
            if response.status_code != 200:
                record["error"] = f"HTTP {response.status_code}: {(await response.aread())[:200]!r}"
                return record
            pending = b""
            async for data in response.aiter_raw():
                now = time.perf_counter()
                pending += data
                *events, pending = pending.split(b"\n\n")
                for event in events:
                    if not event.startswith(b"data: "):
                        continue
                    payload = event[6:]
                    if payload == b"[DONE]":
                        record["done"] = True
                        continue
                    chunk = json.loads(payload)
                    if "error" in chunk:
                        record["error"] = f"in-stream error: {chunk['error']}"
                        continue
                    for choice in chunk.get("choices") or []:
                        if choice["delta"].get("content"):
                            record["chunks"] += 1
                            if record["first"] is None:
                                record["first"], record["ttft"] = now, now - sent
                            record["last"] = now
                        if choice.get("finish_reason"):
                            record["finish_reason"] = choice["finish_reason"]
    except Exception as error:  # noqa: BLE001 - every failure is a figure of the run
        record["error"] = f"{type(error).__name__}: {error}"
    record["ended"] = time.time()
    if record["error"] is None and not (record["done"] and record["finish_reason"]):
        record["error"] = "stream ended without finish_reason and [DONE]"
    return record


async def client_streams(url: str, key: str, prompt: str, streams: int, timeout: float, ready, go) -> list[dict]:
    """Open the client (its SSL context and pool) first, say ready, then start every stream at the signal."""
    import httpx

    limits = httpx.Limits(max_connections=streams, max_keepalive_connections=streams)
    async with httpx.AsyncClient(timeout=httpx.Timeout(60.0, connect=30.0), limits=limits) as client:
        ready()
        await asyncio.get_running_loop().run_in_executor(None, go.wait)
        tasks = [asyncio.ensure_future(one_stream(client, url, key, prompt)) for _ in range(streams)]
        done, pending = await asyncio.wait(tasks, timeout=timeout)
        for task in pending:
            task.cancel()
        results = [task.result() for task in done]
        results += [{"error": "did not finish before the deadline", "chunks": 0} for _ in pending]
        return results


def client_process(index: int, url: str, key: str, prompt: str, streams: int, timeout: float, ready, go, out) -> None:
    """A client process: set up, say ready, wait for the common start, stream, report."""
    try:
        import uvloop

        run = uvloop.run
    except ImportError:
        run = asyncio.run
    cpu = {}

    def say_ready() -> None:
        ready.put(index)
        cpu["start"] = time.process_time()

    results = run(client_streams(url, key, prompt, streams, timeout, say_ready, go))
    out.put({"index": index, "results": results, "cpu_s": time.process_time() - cpu["start"]})


# --- the server ------------------------------------------------------------------------------


def start_server(port: int, key: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1",
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
        env.pop(name, None)
    with log.open("wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "helpers", "serve", "--host", HOST, "--port", str(port), "--api-key", key,
             "--no-access-log"],
            stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT, env=env, start_new_session=True,
        )


def wait_until_ready(server: subprocess.Popen, root: str, key: str, log: Path, timeout: float = 30) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{root}/v1/models", headers={"Authorization": f"Bearer {key}"}, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer within {timeout} s:\n{log.read_text()[-2000:]}")


class Sampler:
    """Every 100 ms: the server's RSS with its children's; every 0.5 s: its /practice/stats."""

    def __init__(self, pid: int, root: str, key: str) -> None:
        import psutil

        self.process = psutil.Process(pid)
        self.root, self.key = root, key
        self.rss: list[int] = []
        self.active: list[int] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self.sample_rss, daemon=True),
                        threading.Thread(target=self.sample_stats, daemon=True)]

    def rss_now(self) -> int:
        total = self.process.memory_info().rss
        for child in self.process.children(recursive=True):
            try:
                total += child.memory_info().rss
            except Exception:  # noqa: BLE001 - a child may be gone
                pass
        return total

    def sample_rss(self) -> None:
        while not self.stop.is_set():
            try:
                self.rss.append(self.rss_now())
            except Exception:  # noqa: BLE001 - the server may be gone at the very end
                return
            self.stop.wait(0.1)

    def sample_stats(self) -> None:
        import httpx

        with httpx.Client(timeout=5, headers={"Authorization": f"Bearer {self.key}"}) as client:
            while not self.stop.is_set():
                try:
                    self.active.append(client.get(f"{self.root}/practice/stats").json()["active_streams"])
                except Exception:  # noqa: BLE001
                    pass
                self.stop.wait(0.5)

    def __enter__(self) -> "Sampler":
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *_exc) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(timeout=6)


def cpu_seconds(process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def key_checks(client, root: str, key: str) -> dict:
    """Requests during the load: a wrong key and no key get 401, the right key's model list 200."""
    body = {"model": "practice", "messages": [{"role": "user", "content": "hello"}], "stream": True}
    stats = client.get(f"{root}/practice/stats", headers={"Authorization": f"Bearer {key}"}).json()
    checks: dict = {"active_streams": stats["active_streams"]}
    for name, headers in [("wrong_key", {"Authorization": f"Bearer {key}-wrong"}), ("no_key", {})]:
        start = time.perf_counter()
        response = client.post(f"{root}/v1/chat/completions", json=body, headers=headers)
        checks[name] = {"status": response.status_code, "ms": 1000 * (time.perf_counter() - start),
                        "error_code": (response.json().get("error") or {}).get("code")
                        if response.headers.get("content-type", "").startswith("application/json") else None}
    start = time.perf_counter()
    response = client.get(f"{root}/v1/models", headers={"Authorization": f"Bearer {key}"})
    checks["right_key_models"] = {"status": response.status_code, "ms": 1000 * (time.perf_counter() - start)}
    return checks


# --- the run ---------------------------------------------------------------------------------


def peak_overlap(records: list[dict]) -> int:
    """The most streams open at the same moment, as the clients saw them."""
    edges = sorted([(r["started"], 1) for r in records if r.get("ended")] +
                   [(r["ended"], -1) for r in records if r.get("ended")], key=lambda e: (e[0], e[1]))
    active = peak = 0
    for _, step in edges:
        active += step
        peak = max(peak, active)
    return peak


def run(args: argparse.Namespace) -> dict:
    import httpx
    import psutil

    total = args.students * args.streams_each
    key = secrets.token_urlsafe(16)
    port = free_port()
    root = f"http://{HOST}:{port}"
    context = mp.get_context("spawn")
    with tempfile.TemporaryDirectory(prefix="load-workshop-") as tmp:
        log = Path(tmp) / "server.log"
        server = start_server(port, key, log)
        clients: list = []
        try:
            wait_until_ready(server, root, key, log)
            server_process = psutil.Process(server.pid)
            rss_idle = server_process.memory_info().rss
            ready, go, out = context.Queue(), context.Event(), context.Queue()
            shares = [total // args.clients + (1 if i < total % args.clients else 0) for i in range(args.clients)]
            clients = [context.Process(target=client_process, daemon=True,
                                       args=(i, f"{root}/v1/chat/completions", key, args.prompt, n,
                                             args.timeout - 30, ready, go, out))
                       for i, n in enumerate(shares)]
            for client in clients:
                client.start()
            for _ in clients:
                ready.get(timeout=60)

            checker = httpx.Client(timeout=30)  # made before the load: its SSL context is slow to build
            with checker, Sampler(server.pid, root, key) as sampler:
                server_cpu = cpu_seconds(server_process)
                started = time.monotonic()
                go.set()
                time.sleep(args.check_after)  # the streams are all open by now: check the key under load
                checks = key_checks(checker, root, key)
                reports = [out.get(timeout=args.timeout) for _ in clients]
                elapsed = time.monotonic() - started
                server_cpu = cpu_seconds(server_process) - server_cpu
            for client in clients:
                client.join(timeout=10)
        finally:
            for client in clients:
                if client.is_alive():
                    client.kill()
            stop_server(server)

    records = [record for report in reports for record in report["results"]]
    good = [r for r in records if not r.get("error")]
    rates = [(r["chunks"] - 1) / (r["last"] - r["first"]) for r in good if r["chunks"] > 1 and r["last"] > r["first"]]
    fractions = [rate / PACE for rate in rates]
    ttfts = [r["ttft"] for r in good if r.get("ttft") is not None]
    errors: dict[str, int] = {}
    for record in records:
        if record.get("error"):
            errors[record["error"][:120]] = errors.get(record["error"][:120], 0) + 1
    figures = {
        "students": args.students, "streams_each": args.streams_each, "streams": total, "clients": args.clients,
        "prompt": args.prompt, "pace": PACE, "python": sys.version.split()[0],
        "cpus": os.cpu_count(),
        "completed": len(good), "errors": errors,
        "chunks_min": min((r["chunks"] for r in records), default=0),
        "chunks_max": max((r["chunks"] for r in records), default=0),
        "rate_fraction_min": min(fractions, default=0.0),
        "rate_fraction_p5": percentile(fractions, 0.05),
        "rate_fraction_median": statistics.median(fractions) if fractions else 0.0,
        "rate_fraction_max": max(fractions, default=0.0),
        "ttft_p50_ms": 1000 * percentile(ttfts, 0.5), "ttft_p99_ms": 1000 * percentile(ttfts, 0.99),
        "ttft_max_ms": 1000 * max(ttfts, default=float("nan")),
        "peak_concurrent_client": peak_overlap(records),
        "peak_active_server": max(sampler.active, default=0),
        "rss_idle_mb": rss_idle / 2**20,
        "rss_peak_mb": max(sampler.rss, default=0) / 2**20,
        "rss_samples": len(sampler.rss),
        "server_cpu_percent": 100 * server_cpu / elapsed,
        "client_cpu_percent": [100 * report["cpu_s"] / elapsed for report in sorted(reports, key=lambda r: r["index"])],
        "elapsed_s": elapsed,
        "key_checks": checks,
        "rate_fractions": sorted(round(x, 4) for x in fractions),
    }
    figures["targets"] = judge(figures)
    figures["passed"] = all(target["pass"] for target in figures["targets"].values())
    return figures


def judge(f: dict) -> dict:
    limit = f"{MIN_RATE_FRACTION:.0%} of {PACE:g} tok/s"
    return {
        "completed": {"target": f"all {f['streams']} streams complete, no error",
                      "value": f"{f['completed']}/{f['streams']}", "pass": f["completed"] == f["streams"]},
        "concurrent": {"target": f"all {f['streams']} streams open at once",
                       "value": f"{f['peak_active_server']} (server), {f['peak_concurrent_client']} (clients)",
                       "pass": f["peak_concurrent_client"] == f["streams"] and f["peak_active_server"] >= f["streams"]},
        "rate_min": {"target": f"slowest stream >= {limit}",
                     "value": f"{f['rate_fraction_min']:.1%}", "pass": f["rate_fraction_min"] >= MIN_RATE_FRACTION},
        "rate_p5": {"target": f"p5 of streams >= {limit}",
                    "value": f"{f['rate_fraction_p5']:.1%}", "pass": f["rate_fraction_p5"] >= MIN_RATE_FRACTION},
        "rss": {"target": f"server peak RSS < {RSS_LIMIT_MB:g} MB",
                "value": f"{f['rss_peak_mb']:.1f} MB (idle {f['rss_idle_mb']:.1f})",
                "pass": 0 < f["rss_peak_mb"] < RSS_LIMIT_MB},
        "wrong_key": {"target": "wrong key during the load: 401",
                      "value": f"{f['key_checks']['wrong_key']['status']} in {f['key_checks']['wrong_key']['ms']:.0f} ms, "
                               f"{f['key_checks']['active_streams']} streams open",
                      "pass": f["key_checks"]["wrong_key"]["status"] == 401
                      and f["key_checks"]["active_streams"] >= 0.9 * f["streams"]},
        "no_key": {"target": "no key during the load: 401",
                   "value": f"{f['key_checks']['no_key']['status']} in {f['key_checks']['no_key']['ms']:.0f} ms",
                   "pass": f["key_checks"]["no_key"]["status"] == 401},
    }


def report(f: dict) -> str:
    lines = [
        f"Workshop mode: {f['students']} students x {f['streams_each']} streams = {f['streams']} concurrent streams "
        f"of \"{f['prompt']}\" at the default {f['pace']:g} tok/s, key required, {f['clients']} client processes, "
        f"{f['cpus']} CPUs, Python {f['python']}, {f['elapsed_s']:.1f} s.",
        "",
        "| target | value | result |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {t['target']} | {t['value']} | {'PASS' if t['pass'] else 'FAIL'} |" for t in f["targets"].values()]
    lines += [
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| content chunks per stream | {f['chunks_min']}-{f['chunks_max']} |",
        f"| rate / {f['pace']:g} tok/s: min, p5, median, max | {f['rate_fraction_min']:.1%}, "
        f"{f['rate_fraction_p5']:.1%}, {f['rate_fraction_median']:.1%}, {f['rate_fraction_max']:.1%} |",
        f"| time to first token: p50, p99, max | {f['ttft_p50_ms']:.0f}, {f['ttft_p99_ms']:.0f}, "
        f"{f['ttft_max_ms']:.0f} ms |",
        f"| server CPU during the load | {f['server_cpu_percent']:.0f}% of one core |",
        f"| client processes' CPU | {', '.join(f'{c:.0f}%' for c in f['client_cpu_percent'])} |",
        f"| server RSS: idle, peak ({f['rss_samples']} samples) | {f['rss_idle_mb']:.1f} MB, {f['rss_peak_mb']:.1f} MB |",
        f"| right key's GET /v1/models during the load | {f['key_checks']['right_key_models']['status']} in "
        f"{f['key_checks']['right_key_models']['ms']:.0f} ms |",
    ]
    if f["errors"]:
        lines += ["", "Errors:"] + [f"- {count} x {error}" for error, count in f["errors"].items()]
    lines += ["", "PASS" if f["passed"] else "FAIL"]
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

    # A watchdog: whatever hangs, the run ends, with the server and the clients stopped.
    def give_up() -> None:
        print(f"FAIL: no result within {args.timeout:g} s; stopping everything", file=sys.stderr, flush=True)
        for child in mp.active_children():
            child.kill()
        for process in _own_children():  # the server and the clients: only what this run started
            process.kill()
        os._exit(2)

    watchdog = threading.Timer(args.timeout, give_up)
    watchdog.daemon = True
    watchdog.start()
    try:
        figures = run(args)
    except Exception as error:  # noqa: BLE001
        print(f"FAIL: the load test could not run: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    finally:
        watchdog.cancel()
    print(report(figures))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if figures["passed"] else 1


def _own_children() -> list:
    import psutil

    return psutil.Process().children(recursive=True)


if __name__ == "__main__":
    sys.exit(main())
