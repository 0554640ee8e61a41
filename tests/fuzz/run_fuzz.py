"""Fuzz the practice server against OpenAI's own description of the API (make test-fuzz).

    python tests/fuzz/run_fuzz.py [--seconds 150] [--workers 1] [--seed N] [--server-python .venv/bin/python]

Runs in its own virtual environment (schemathesis, tests/fuzz/requirements.txt); the server runs as users run it,
``python -m helpers serve --host 127.0.0.1 --port FREE --tokens-per-second 0 --api-key RANDOM`` under the
project's own Python (workshop mode: the key is required, so the fuzzer tries missing and wrong keys too).

Schemathesis reads tests/fuzz/openai-openapi.json (OpenAI's published description, trimmed by
tools/trim_openapi.py to the operations the server implements) and tests/fuzz/schemathesis.toml, then sends
requests valid and invalid by that description (its examples, coverage and fuzzing phases) until the time
budget is spent, checking every response (tests/fuzz/hooks.py adds the OpenAI error shape and the SSE framing).

Targets, each printed with its figure; exit 1 if one is missed, 2 if the run could not start:
- schemathesis found no failure: no 5xx, every 2xx valid against OpenAI's response schema (streams chunk by chunk),
  every 4xx and 5xx an OpenAI-style error body, no error event inside a stream;
- the server's own log: no 5xx answered, no traceback, no answer slower than 5 s (its own time to the first byte:
  at full speed every answer takes milliseconds, so a slow one means work that grows too fast with the input);
- every operation in tests/fuzz/operations.txt was answered both 2xx and 4xx, and streamed replies were among the 2xx (the fuzz reached them);
- the server is alive afterwards: the model list, a reply and a streamed reply all succeed.

Artifacts (for a failed run in CI) go to artifacts/fuzz/: the server's log, schemathesis's JSON report and figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
SPEC = HERE / "openai-openapi.json"
OPERATIONS = HERE / "operations.txt"
CONFIG = HERE / "schemathesis.toml"
HOST = "127.0.0.1"  # loopback only
# One access-log line per request (helpers/server/access.py): 'CLIENT - "METHOD PATH" STATUS req_ID N ms'.
ACCESS_LINE = re.compile(r'"(?P<method>\S+) (?P<path>.*)" (?P<status>\d{3}) req_\w+ (?P<ms>\d+) ms$')
SLOWEST_MS = 5000  # at full speed a request takes milliseconds: a slow one means work that grows too fast


def free_port() -> int:
    """A port nobody listens on now (the same as helpers.server.testing.free_port, which needs the server's deps)."""
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


def call(url: str, key: str, body: dict | None = None, timeout: float = 30) -> tuple[int, bytes, str]:
    """One request with the key: (status, body, content type)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers={"Authorization": f"Bearer {key}",
                                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read(), response.headers.get("content-type", "")
    except urllib.error.HTTPError as error:
        return error.code, error.read(), error.headers.get("content-type", "")


def start_server(python: str, port: int, key: str, log: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY"):
        env.pop(name, None)
    with log.open("wb") as log_file:
        return subprocess.Popen(
            [python, "-m", "helpers", "serve", "--host", HOST, "--port", str(port), "--tokens-per-second", "0",
             f"--api-key={key}"],  # one word: a random key may start with "-", which argparse takes for an option
            stdout=log_file, stderr=subprocess.STDOUT, cwd=ROOT, env=env, start_new_session=True,
        )


def wait_until_ready(server: subprocess.Popen, base: str, key: str, log: Path, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"the server exited:\n{log.read_text()[-2000:]}")
        try:
            if call(f"{base}/models", key, timeout=2)[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer within {timeout:g} s:\n{log.read_text()[-2000:]}")


def stop_server(server: subprocess.Popen) -> None:
    """SIGINT (uvicorn's clean shutdown), then kill after 5 s."""
    if server.poll() is None:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=5)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=5)


def alive_afterwards(server: subprocess.Popen, base: str, key: str) -> dict:
    """The normal requests a learner makes, after the fuzzing: each must succeed."""
    if server.poll() is not None:
        return {"running": False}
    question = {"model": "practice", "messages": [{"role": "user", "content": "write a poem about a tree"}]}
    models = call(f"{base}/models", key)
    reply = call(f"{base}/chat/completions", key, question)
    stream = call(f"{base}/chat/completions", key, {**question, "stream": True})
    return {
        "running": True,
        "models": models[0],
        "reply": reply[0],
        "reply_has_text": reply[0] == 200 and bool(json.loads(reply[1])["choices"][0]["message"]["content"]),
        "stream": stream[0],
        "stream_done": stream[0] == 200 and stream[1].endswith(b"data: [DONE]\n\n"),
    }


def operations() -> dict[str, re.Pattern]:
    """The fuzzed operations ("GET /v1/models/{model}"), each with a pattern for the paths the server logs."""
    found = {}
    for line in OPERATIONS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            method, _, path = line.partition(" ")
            pattern = re.sub(r"\\\{[^}]+\\\}", ".+", re.escape("/v1" + path.strip()))  # a parameter may hold "/"
            found[f"{method.upper()} /v1{path.strip()}"] = re.compile(f"{method.upper()} {pattern}")
    return found


def read_server_log(log: Path) -> dict:
    """What the server itself says it answered: requests by status, by operation, and any traceback."""
    statuses: Counter[int] = Counter()
    by_operation: dict[str, Counter[str]] = {name: Counter() for name in operations()}
    slowest = (0, "")
    tracebacks = []
    lines = log.read_text(errors="replace").splitlines()
    for index, line in enumerate(lines):
        match = ACCESS_LINE.search(line)
        if match:
            status = int(match["status"])
            statuses[status] += 1
            request = f"{match['method']} {match['path']}"
            slowest = max(slowest, (int(match["ms"]), f"{request[:100]} {status}"))
            for name, pattern in operations().items():
                if pattern.fullmatch(request):
                    by_operation[name][f"{status // 100}xx"] += 1
                    break
        elif line.startswith("Traceback") or "Exception in ASGI application" in line:
            tracebacks.append("\n".join(lines[max(0, index - 2): index + 30]))
    return {"statuses": statuses, "by_operation": by_operation, "slowest": slowest, "tracebacks": tracebacks}


def run(args: argparse.Namespace, out: Path) -> dict:
    key = secrets.token_urlsafe(16)
    port = free_port()
    base = f"http://{HOST}:{port}/v1"
    log = out / "server.log"
    report = out / "schemathesis.json"
    server = start_server(args.server_python, port, key, log)
    try:
        wait_until_ready(server, base, key, log)
        schemathesis = Path(sys.executable).parent / "st"
        command = [str(schemathesis), "--config-file", str(CONFIG), "--no-color", "run", str(SPEC), "--url", base,
                   "--max-time", str(args.seconds), "--workers", str(args.workers),
                   "--report", "json", "--report-json-path", str(report)]
        if args.seed is not None:
            command += ["--seed", str(args.seed)]
        started = time.monotonic()
        env = {**os.environ, "FUZZ_API_KEY": key,
               "HYPOTHESIS_STORAGE_DIRECTORY": str(out / "hypothesis")}  # not .hypothesis/ in the checkout
        fuzz = subprocess.run(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=args.seconds + 300)
        elapsed = time.monotonic() - started
        stats = json.loads(call(f"http://{HOST}:{port}/practice/stats", key)[1]) if server.poll() is None else {}
        alive = alive_afterwards(server, base, key)
    finally:
        stop_server(server)
    (out / "schemathesis.log").write_text(fuzz.stdout)
    summary = json.loads(report.read_text()) if report.exists() else {}
    served = read_server_log(log)
    return {"fuzz_exit": fuzz.returncode, "fuzz_output": fuzz.stdout, "summary": summary, "served": served,
            "stats": stats, "alive": alive, "elapsed_s": elapsed}


def judge(f: dict) -> dict:
    summary, served, alive = f["summary"], f["served"], f["alive"]
    cases = summary.get("test_cases", {})
    statuses = served["statuses"]
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    by_operation = served["by_operation"]
    unreached = [op for op, counts in by_operation.items() if not counts["2xx"] or not counts["4xx"]]
    streamed = f["stats"].get("completed_streams", 0)
    return {
        "schemathesis": {"target": "schemathesis: no failure and no error (exit 0)",
                         "value": f"{cases.get('generated', 0):,} test cases, {cases.get('unique_failures', '?')} "
                                  f"unique failures, {len(summary.get('errors', []))} errors, exit {f['fuzz_exit']}",
                         "pass": f["fuzz_exit"] == 0 and summary.get("complete") is True},
        "no_5xx": {"target": "the server answered no 5xx",
                   "value": f"{server_errors} of {sum(statuses.values()):,} requests", "pass": server_errors == 0},
        "slowest": {"target": f"the server's slowest answer (its own time to the first byte) under {SLOWEST_MS} ms",
                    "value": f"{served['slowest'][0]} ms ({served['slowest'][1]})",
                    "pass": served["slowest"][0] < SLOWEST_MS},
        "no_traceback": {"target": "no traceback in the server's log",
                         "value": str(len(served["tracebacks"])), "pass": not served["tracebacks"]},
        "reached": {"target": f"each of the {len(by_operation)} operations answered both 2xx and 4xx",
                    "value": "; ".join(f"{op}: {dict(sorted(c.items()))}" for op, c in sorted(by_operation.items())),
                    "pass": bool(by_operation) and not unreached},
        "streams": {"target": "streamed replies were fuzzed, and read to the end",
                    "value": f"{streamed:,} completed, {f['stats'].get('client_disconnects', '?')} left early",
                    "pass": streamed > 0},
        "alive": {"target": "afterwards: model list, a reply and a stream succeed",
                  "value": json.dumps(alive),
                  "pass": alive.get("running") is True and alive.get("models") == 200 and alive.get("reply_has_text")
                  is True and alive.get("stream_done") is True},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=150, help="schemathesis's time budget (default 150)")
    # One worker: schemathesis's workers are threads, and on Python 3.11 two threads in ast.parse at once (which
    # hypothesis calls to describe its strategies) can fail with "SystemError: AST constructor recursion depth
    # mismatch" (CPython gh-106905): 3 runs in 4 failed so with two workers here, none in 4 with one, and one
    # worker sent more requests in 150 s (17,633 against 12,954): the server, not the fuzzer, is the limit.
    parser.add_argument("--workers", type=int, default=1, help="concurrent schemathesis workers (default 1)")
    parser.add_argument("--seed", type=int, help="schemathesis's seed, to repeat a run")
    parser.add_argument("--server-python", default=str(ROOT / ".venv" / "bin" / "python"),
                        help="the Python that runs the server: the project's (default .venv/bin/python)")
    parser.add_argument("--out", type=Path, default=ROOT / "artifacts" / "fuzz", help="where logs and reports go")
    args = parser.parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    try:
        figures = run(args, args.out)
    except Exception as error:  # noqa: BLE001 - say why the run could not happen
        print(f"FAIL: the fuzz run could not run: {type(error).__name__}: {error}", file=sys.stderr)
        return 2
    return report(figures, args.out)


def report(f: dict, out: Path) -> int:
    """Print the targets and figures; write them to out/figures.json; the exit code."""
    targets = judge(f)
    passed = sum(t["pass"] for t in targets.values())
    statuses = f["served"]["statuses"]
    cases = f["summary"].get("test_cases", {})
    lines = [f"Fuzzing the practice server with schemathesis for {f['elapsed_s']:.0f} s against OpenAI's "
             f"description ({SPEC.relative_to(ROOT)}).", "", "| target | value | result |", "| --- | --- | --- |"]
    lines += [f"| {t['target']} | {t['value']} | {'PASS' if t['pass'] else 'FAIL'} |" for t in targets.values()]
    lines += ["", "Requests the server answered, by status: "
              + ", ".join(f"{status}: {n:,}" for status, n in sorted(statuses.items())),
              f"Test cases: {cases.get('generated', 0):,} generated; seed {f['summary'].get('seed')}; "
              f"the server's log, schemathesis's output and its JSON report are in {out}."]
    if not targets["schemathesis"]["pass"]:
        lines += ["", "Schemathesis said:", *f["fuzz_output"].splitlines()[-120:]]
    for traceback in f["served"]["tracebacks"][:3]:
        lines += ["", "From the server's log:", traceback]
    lines += ["", f"fuzz targets: {passed} passed, {len(targets) - passed} failed"]
    print("\n".join(lines))
    figures = {key: value for key, value in f.items() if key != "fuzz_output"}
    figures["served"] = {**f["served"], "statuses": {str(k): v for k, v in sorted(statuses.items())}}
    figures["targets"] = targets
    (out / "figures.json").write_text(json.dumps(figures, indent=2, default=str) + "\n")
    return 0 if passed == len(targets) else 1


if __name__ == "__main__":
    sys.exit(main())
