"""Soak test of workshop mode: a room's worth of paced streams for minutes, with clients that misbehave.

    python -m tests.soak.soak [--seconds 600] [--streams 200] [--seed 1] [--json out.json]

Starts ``python -m helpers serve --host 127.0.0.1 --port FREE --api-key RANDOM`` (workshop mode: the key is required;
the default pace, 30 tokens/s; the access log on, as an instructor runs it; this script only talks to 127.0.0.1).
Then ``--streams`` client lanes (tests/soak/students.py) each stream replies back to back until the time is up, so
that about that many streams are open all the time. Each stream, at random (seeded): reads to the end (most);
aborts after some chunks and reconnects at once; stalls (stops reading for 2-15 s) and then reads to the end; or
stalls and then aborts. One request in fifty has a wrong key and must get 401. A request that meets HTTP
keep-alive's race (the server closed an idle connection just as it was reused) is sent again once, as the openai
client does, and counted.

Every second it samples the server's resident memory and its open file descriptors (/proc/PID/fd).

Targets (exit 1 if one is missed, printing the figures; 2 if the run could not finish):
- no errors: every stream not aborted on purpose ends with a finish_reason and [DONE]; every wrong key gets 401;
- memory: the server's RSS at the end (median of the last 5 s of load) within 10% of its RSS after the warm-up,
  which is the first minute, or the first fifth of a run shorter than 5 minutes (median of the 5 s before it);
- file descriptors: no growth: at the end of the load within 10% of after the warm-up (the same windows),
  and once the clients have gone, back to what the idle server had before the load;
- no stream left behind: once the clients have gone, the server's /practice/stats shows no active stream.

CI runs it for 2 minutes (make test-soak); the full soak is 10 minutes: make test-soak SOAK_SECONDS=600.
(Starting and stopping the server repeats a little of tests/bench/load_workshop.py, on purpose for now.)
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import psutil

from helpers.defaults import TOKENS_PER_SECOND
from tests.bench.core import HOST, Sampler, served, with_watchdog
from tests.soak.students import run_event_loop, run_lanes

PACE = TOKENS_PER_SECOND  # the server's default --tokens-per-second, which this test does not pass
LIMIT = 0.10  # memory and file descriptors at the end: within 10% of after the warm-up
WINDOW = 5.0  # seconds of samples whose median is "the figure at" a moment
WARMUP_MAX = 60.0
WARMUP_MIN = 10.0


def warmup_seconds(seconds: float) -> float:
    """The first minute; the first fifth of a run too short for a minute to be a small part of it (but 10 s at
    least: the students start over the first 5 s)."""
    return max(WARMUP_MIN, min(WARMUP_MAX, seconds / 5))


# --- the server --------------------------------------------------------------------------------------------


def open_fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


class ServerProbe:
    """One sample of the server, for tests.bench.core.Sampler: (seconds since start, its RSS in bytes, its open
    file descriptors, its active streams). A server that is gone raises, and the sample is left out."""

    def __init__(self, pid: int, root: str, key: str) -> None:
        self.process = psutil.Process(pid)
        self.stats = httpx.Client(base_url=root, headers={"Authorization": f"Bearer {key}"}, timeout=10)
        self.started = time.monotonic()

    def __call__(self) -> tuple[float, int, int, int]:
        moment = time.monotonic() - self.started
        rss, fds = self.process.memory_info().rss, open_fds(self.process.pid)
        try:
            active = self.stats.get("/practice/stats").json()["active_streams"]
        except httpx.HTTPError:
            active = -1  # no answer within 10 s: the figures will show it
        return moment, rss, fds, active


def around(samples: list[tuple[float, int, int, int]], moment: float) -> tuple[float, float]:
    """Median RSS and fds over the WINDOW seconds before moment."""
    window = [(rss, fds) for t, rss, fds, _ in samples if moment - WINDOW <= t <= moment]
    if not window:
        return float("nan"), float("nan")
    return statistics.median(r for r, _ in window), statistics.median(f for _, f in window)


# --- the run -----------------------------------------------------------------------------------------------


def settle(pid: int, root: str, key: str, idle_fds: int, timeout: float = 15) -> tuple[int, int]:
    """After the clients have gone: wait for the fds to come back to idle; (fds, active streams) when they do."""
    deadline = time.monotonic() + timeout
    while True:
        fds = open_fds(pid)
        active = httpx.get(f"{root}/practice/stats", headers={"Authorization": f"Bearer {key}"},
                           timeout=10).json()["active_streams"]
        if (fds <= idle_fds and active == 0) or time.monotonic() > deadline:
            return fds, active
        time.sleep(0.5)


def run(args: argparse.Namespace) -> dict:
    key = secrets.token_urlsafe(16)
    warmup = warmup_seconds(args.seconds)
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        serve = ["helpers", "serve", "--host", HOST, "--port", "{port}", f"--api-key={key}"]  # the access log on
        with served("practice-server", serve, Path(tmp)) as server:
            root = server.root_url
            process = psutil.Process(server.pid)
            idle_rss, idle_fds = process.memory_info().rss, open_fds(server.pid)
            cpu_before = sum(process.cpu_times()[:2])
            probe = ServerProbe(server.pid, root, key)
            with probe.stats, Sampler(probe, interval=1.0) as sampler:
                tally = run_event_loop(run_lanes(f"{root}/v1/chat/completions", key, args.streams, args.seconds,
                                              args.seed))
                elapsed = time.monotonic() - probe.started
            samples = sampler.values
            server_cpu = sum(process.cpu_times()[:2]) - cpu_before
            fds_after, active_after = settle(server.pid, root, key, idle_fds)
            rss_after = process.memory_info().rss
            stats = httpx.get(f"{root}/practice/stats", headers={"Authorization": f"Bearer {key}"}, timeout=10).json()
            still_running = server.child.process.poll() is None
        log_text = server.child.log.read_text(errors="replace")
    rss_warm, fds_warm = around(samples, warmup)
    rss_end, fds_end = around(samples, args.seconds)
    figures = {
        "seconds": args.seconds, "streams": args.streams, "seed": args.seed, "pace": PACE, "warmup_s": warmup,
        "elapsed_s": elapsed, "cpus": os.cpu_count(), "python": sys.version.split()[0],
        "completed": tally.completed, "aborted": tally.aborted, "stalled": tally.stalled,
        "wrong_key_401": tally.wrong_key_401, "keepalive_retries": tally.keepalive_retries,
        "content_chunks": tally.chunks, "errors": tally.errors,
        "rate_fraction_median": statistics.median(tally.rates) / PACE if tally.rates else 0.0,
        "rate_fraction_min": min(tally.rates) / PACE if tally.rates else 0.0,
        "rss_idle_mb": idle_rss / 2**20, "rss_warm_mb": rss_warm / 2**20, "rss_end_mb": rss_end / 2**20,
        "rss_peak_mb": max((s[1] for s in samples), default=0) / 2**20, "rss_after_mb": rss_after / 2**20,
        "fds_idle": idle_fds, "fds_warm": fds_warm, "fds_end": fds_end,
        "fds_peak": max((s[2] for s in samples), default=0), "fds_after": fds_after,
        "active_streams_after": active_after, "server_stats": stats, "server_running": still_running,
        "server_cpu_percent": 100 * server_cpu / elapsed,
        "server_log_tracebacks": log_text.count("Traceback"),
        "active_streams_median": statistics.median(s[3] for s in samples if warmup <= s[0] <= args.seconds),
        "active_streams_max": max((s[3] for s in samples), default=0),
        "samples": [(round(t, 1), round(rss / 2**20, 2), fds, active) for t, rss, fds, active in samples],
    }
    figures["targets"] = judge(figures)
    figures["passed"] = all(t["pass"] for t in figures["targets"].values())
    return figures


def judge(f: dict) -> dict:
    errors = sum(f["errors"].values())
    return {
        "errors": {"target": "no errors beyond the aborted streams (and no traceback in the server's log)",
                   "value": f"{errors} errors; {f['completed']:,} streams completed, {f['aborted']:,} aborted, "
                            f"{f['stalled']:,} stalled, {f['wrong_key_401']} wrong keys refused; "
                            f"{f['server_log_tracebacks']} tracebacks",
                   "pass": errors == 0 and f["completed"] > 0 and f["aborted"] > 0 and f["stalled"] > 0
                   and f["server_log_tracebacks"] == 0 and f["server_running"]},
        "memory": {"target": f"RSS at the end within {LIMIT:.0%} of after the warm-up ({f['warmup_s']:g} s)",
                   "value": f"{f['rss_end_mb']:.1f} MB vs {f['rss_warm_mb']:.1f} MB "
                            f"({f['rss_end_mb'] / f['rss_warm_mb'] - 1:+.1%})",
                   "pass": f["rss_end_mb"] <= (1 + LIMIT) * f["rss_warm_mb"]},
        "fds_load": {"target": f"open fds at the end within {LIMIT:.0%} of after the warm-up",
                     "value": f"{f['fds_end']:g} vs {f['fds_warm']:g}",
                     "pass": f["fds_end"] <= (1 + LIMIT) * f["fds_warm"]},
        "fds_idle": {"target": "open fds once the clients have gone: back to the idle server's",
                     "value": f"{f['fds_after']} vs {f['fds_idle']} before the load",
                     "pass": f["fds_after"] <= f["fds_idle"]},
        "active_after": {"target": "no stream left active once the clients have gone",
                         "value": str(f["active_streams_after"]), "pass": f["active_streams_after"] == 0},
    }


def report(f: dict) -> str:
    lines = [
        f"Soak: {f['streams']} client lanes streaming \"count to 30-300\" back to back at {f['pace']:g} tok/s for "
        f"{f['elapsed_s']:.0f} s in workshop mode (key required), aborting, stalling and reconnecting at random "
        f"(seed {f['seed']}); warm-up {f['warmup_s']:g} s; {f['cpus']} CPUs, Python {f['python']}.",
        "",
        "| target | value | result |",
        "| --- | --- | --- |",
    ]
    lines += [f"| {t['target']} | {t['value']} | {'PASS' if t['pass'] else 'FAIL'} |" for t in f["targets"].values()]
    lines += [
        "",
        "| figure | value |",
        "| --- | --- |",
        f"| server RSS: idle, after the warm-up, at the end, peak, after the clients left | {f['rss_idle_mb']:.1f}, "
        f"{f['rss_warm_mb']:.1f}, {f['rss_end_mb']:.1f}, {f['rss_peak_mb']:.1f}, {f['rss_after_mb']:.1f} MB |",
        f"| server open fds: idle, after the warm-up, at the end, peak, after the clients left | {f['fds_idle']}, "
        f"{f['fds_warm']:g}, {f['fds_end']:g}, {f['fds_peak']}, {f['fds_after']} |",
        f"| content chunks received | {f['content_chunks']:,} |",
        f"| requests sent again after the server closed an idle kept-alive connection as it was reused | "
        f"{f['keepalive_retries']} |",
        f"| rate of streams read without a stall / {f['pace']:g} tok/s: median, min | "
        f"{f['rate_fraction_median']:.1%}, {f['rate_fraction_min']:.1%} |",
        f"| streams open at once by the server's count (a stalled client's reply may all be sent), after the "
        f"warm-up: median, max | "
        f"{f['active_streams_median']:g}, {f['active_streams_max']} |",
        f"| the server's own tally | {json.dumps(f['server_stats'])} |",
        f"| server CPU | {f['server_cpu_percent']:.0f}% of one core |",
    ]
    if f["errors"]:
        lines += ["", "Errors:"] + [f"- {count} x {error}" for error, count in f["errors"].items()]
    passed = sum(t["pass"] for t in f["targets"].values())
    lines += ["", f"soak targets: {passed} passed, {len(f['targets']) - passed} failed"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=600, help="how long the load lasts (default 600)")
    parser.add_argument("--streams", type=int, default=200, help="client lanes, each one stream at a time (200)")
    parser.add_argument("--seed", type=int, default=1, help="the clients' random choices (default 1)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args(argv)

    figures = with_watchdog(lambda: run(args), args.seconds + 180, "the soak")
    if figures is None:
        return 2
    print(report(figures))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if figures["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
