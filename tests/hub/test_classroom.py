"""`make test-hub`: a classroom on a real JupyterHub, with the practice server as a hub service.

Five students' servers are spawned; in each, notebook 04 (streaming) is uploaded and run cell by cell
in a kernel of that server, through the hub's proxy, as JupyterLab would run it. Nobody sets
OPENAI_BASE_URL or a key: `helpers` finds the service through the hub and sends the student's own hub
token, which the service checks with the hub. A request without a token the hub vouches for gets 401.
"""

from __future__ import annotations

import asyncio
import configparser
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import nbformat
import psutil
import pytest

from helpers import hub as helpers_hub
from helpers.server.testing import free_port
from tests.hub.remote_kernel import CellRun, RemoteKernel
from tests.support import child_env, wait_until

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "notebooks" / "04-streaming.ipynb"
STUDENTS = [f"student{n}" for n in range(1, 6)]
TREE_LINE = "Rooted deep where the quiet waters run"

PROBE = """
import os, helpers
settings = helpers.settings()
print(settings.base_url)
print(settings.sources["base_url"])
print(settings.sources["api_key"])
print(settings.api_key == os.environ["JUPYTERHUB_API_TOKEN"], "OPENAI_BASE_URL" in os.environ, "OPENAI_API_KEY" in os.environ)
print(repr(settings))
"""


def sanitizers() -> list[tuple[re.Pattern, str]]:
    """nbval's replacements (tests/nbval_sanitize.cfg): timings, ids, addresses."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ROOT / "tests" / "nbval_sanitize.cfg")
    return [(re.compile(parser[s]["regex"]), parser[s]["replace"]) for s in parser.sections()]


SANITIZERS = sanitizers()


def comparable(outputs: list[dict]) -> str:
    """What nbval would compare of a cell's outputs: its streams (consecutive pieces joined) and results
    as text, sanitized."""
    parts: list[list[str]] = []
    for output in outputs:
        if output["output_type"] == "stream":
            label, text = f"[{output['name']}]", "".join(output["text"])
        elif output["output_type"] == "execute_result":
            label, text = "[result]", "".join(output["data"].get("text/plain", ""))
        elif output["output_type"] == "error":
            label, text = "[error]", f"{output['ename']}: {output['evalue']}"
        else:
            continue
        if parts and parts[-1][0] == label and label.startswith("[std"):
            parts[-1][1] += text
        else:
            parts.append([label, text])
    text = "".join(label + text for label, text in parts)
    for pattern, replacement in SANITIZERS:
        text = pattern.sub(replacement, text)
    return text


def student_tokens(hub, name: str) -> str:
    """A fresh token for the student, with the scopes their server's own token has."""
    response = hub.driver.post(f"/users/{name}/tokens", json={
        "note": "test-hub", "scopes": ["users:activity!user", f"access:servers!server={name}/",
                                       helpers_hub.SCOPE]})
    response.raise_for_status()
    return response.json()["token"]


@pytest.fixture(scope="module")
def classroom(hub):
    """Every student's server, spawned one after another (as students arrive)."""
    started = time.perf_counter()
    for name in STUDENTS:
        hub.spawn(name)
    print(f"\n{len(STUDENTS)} servers spawned in {time.perf_counter() - started:.1f} s")
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    for name in STUDENTS:  # the notebook goes into each home, as nbgitpuller or a copy would put it
        response = hub.driver.put(f"{hub.user_server_url(name)}api/contents/{NOTEBOOK.name}",
                                  json={"type": "notebook", "format": "json", "content": notebook})
        assert response.status_code in (200, 201), response.text
    return notebook


async def run_notebook(hub, name: str, notebook) -> tuple[CellRun, list[tuple[int, CellRun]]]:
    token = hub.driver.headers["Authorization"].split()[-1]
    async with RemoteKernel(hub.user_server_url(name), token, NOTEBOOK.name) as kernel:
        probe = await kernel.run(PROBE)
        runs = []
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code":
                runs.append((index, await kernel.run(cell.source, timeout=120)))
    return probe, runs


@pytest.fixture(scope="module")
def notebook_runs(hub, classroom):
    """Notebook 04 in every student's server at once: ({student: (probe, [(cell index, run)])}, the service's
    stats before and after, how often the service asked the hub about a student's token meanwhile)."""
    before = httpx.get(f"{hub.service_url}/practice/stats", headers=_auth(student_tokens(hub, STUDENTS[0]))).json()

    async def all_students():
        return await asyncio.gather(*(run_notebook(hub, name, classroom) for name in STUDENTS))

    started = time.perf_counter()
    results = asyncio.run(all_students())
    seconds = time.perf_counter() - started
    after = httpx.get(f"{hub.service_url}/practice/stats", headers=_auth(student_tokens(hub, STUDENTS[0]))).json()
    print(f"\nnotebook 04 in {len(STUDENTS)} students' servers at once: {seconds:.1f} s; service stats {after}; "
          f"memory per student (server and kernel, MB): {students_memory()}")
    return dict(zip(STUDENTS, results)), before, after, hub_checks_by_students(hub)


def students_memory() -> list[int]:
    """Resident memory of each student's server with its kernel, in MB (for sizing a hub)."""
    servers = [p for p in psutil.process_iter(["cmdline"]) if any("jupyterhub-singleuser" in a for a in p.info["cmdline"] or [])]
    return sorted(round(sum(q.memory_info().rss for q in [p, *p.children(recursive=True)]) / 2**20) for p in servers)


def hub_checks_by_students(hub) -> int:
    """How often the hub was asked whose a student's token is (its log names the token's owner)."""
    log = (hub.folder / "jupyterhub.log").read_text()
    return len(re.findall(r" GET /hub/api/user \(student\d+@", log))


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- the students' side ----------------------------------------------------------------------


def test_helpers_find_the_service_through_the_hub_with_nothing_set(hub, notebook_runs):
    runs, _before, _after, _checks = notebook_runs
    for name, (probe, _cells) in runs.items():
        assert probe.errors == [], (name, probe.errors)
        lines = probe.text().splitlines()
        assert lines[0] == f"{hub.service_url}/v1", name
        assert lines[1] == "JupyterHub service 'practice'", name
        assert lines[2].startswith("JupyterHub service 'practice' (this server's own JUPYTERHUB_API_TOKEN)"), name
        assert lines[3] == "True False False", name  # the key is the server's token; no OPENAI_* set anywhere
        token_shown = re.search(r"api_key='([^']*)'", lines[4]).group(1)
        assert "…" in token_shown and len(token_shown) < 8, lines[4]  # masked


def test_notebook_04_runs_in_every_students_server_as_stored(hub, classroom, notebook_runs):
    runs, _before, _after, _checks = notebook_runs
    for name, (_probe, cells) in runs.items():
        for index, run in cells:
            assert run.errors == [] and run.status == "ok", (name, index, run.errors)
            cell = classroom.cells[index]
            if "ensure_server(" in cell.source:  # says which server it uses: here the hub's, not one of its own
                assert f"Using the server at {hub.service_url}/v1 (JupyterHub service 'practice')" in run.text(), run.text()
                continue
            if "nbval-ignore-output" in cell.metadata.get("tags", []):
                continue
            assert comparable(run.outputs) == comparable(cell.outputs), (name, index, cell.source[:80])
        streamed = "".join(run.text() + "".join(run.widget_texts) for _, run in cells)
        assert TREE_LINE in streamed, name


def test_every_students_streams_reached_the_service(notebook_runs):
    runs, before, after, checks = notebook_runs
    stored = nbformat.read(NOTEBOOK, as_version=4)
    streams_per_notebook = sum(c.source.count("stream=True") + c.source.count("helpers.stream(")
                               + c.source.count("stream_to_output(") for c in stored.cells if c.cell_type == "code")
    assert streams_per_notebook >= 8
    served = after["completed_streams"] + after["client_disconnects"] - before["completed_streams"] - before["client_disconnects"]
    assert served >= len(STUDENTS) * streams_per_notebook, (before, after)
    assert after["requests"] - before["requests"] >= len(STUDENTS) * streams_per_notebook
    # The service asked the hub about each token once, not once a request (its answers are cached).
    assert checks <= len(STUDENTS) + 2 < after["requests"] - before["requests"]


# --- the service's side ----------------------------------------------------------------------


@pytest.mark.parametrize("headers", [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer not-a-hub-token-0123456789abcdef"},
    {"Authorization": "Basic c3R1ZGVudDE6cGFzc3dvcmQ="},
], ids=["no key", "empty bearer", "unknown token", "basic auth"])
def test_a_request_without_a_valid_hub_token_is_refused(hub, headers):
    for path in ("/v1/models", "/v1/chat/completions", "/practice/stats"):
        method = "POST" if path.endswith("completions") else "GET"
        response = httpx.request(method, hub.service_url + path, headers=headers, timeout=10,
                                 json={"model": "practice", "messages": [{"role": "user", "content": "hi"}]})
        assert response.status_code == 401, (path, response.text)
        error = response.json()["error"]
        assert error["code"] == "invalid_api_key" and error["type"] == "invalid_request_error"


def test_a_revoked_token_is_refused_and_a_valid_one_accepted(hub, classroom):
    token = student_tokens(hub, STUDENTS[1])
    token_id = hub.driver.get(f"/users/{STUDENTS[1]}/tokens").json()["api_tokens"][-1]["id"]
    other = student_tokens(hub, STUDENTS[1])
    assert httpx.get(hub.service_url + "/v1/models", headers=_auth(other), timeout=10).status_code == 200
    hub.driver.delete(f"/users/{STUDENTS[1]}/tokens/{token_id}").raise_for_status()
    response = httpx.get(hub.service_url + "/v1/models", headers=_auth(token), timeout=10)
    assert response.status_code == 401, response.text


def test_the_service_answers_through_the_hubs_proxy(hub, classroom):
    """/services/practice/v1 on the hub's public address is the same API (for a student's own laptop)."""
    token = student_tokens(hub, STUDENTS[2])
    base = f"{hub.url}/services/practice/v1"
    assert httpx.get(base + "/models", timeout=10).status_code == 401
    models = httpx.get(base + "/models", headers=_auth(token), timeout=10)
    assert models.status_code == 200 and models.json()["data"][0]["owned_by"] == "practice-server"
    reply = httpx.post(base + "/chat/completions", headers=_auth(token), timeout=30, json={
        "model": "practice", "messages": [{"role": "user", "content": "write a poem about a tree"}]})
    assert reply.status_code == 200 and TREE_LINE in reply.json()["choices"][0]["message"]["content"]


def test_a_servers_default_token_cannot_see_the_service_and_helpers_say_why(hub, classroom):
    """Why the classroom config grants read:services!service=practice: without it the hub hides the service."""
    response = hub.driver.post(f"/users/{STUDENTS[3]}/tokens", json={
        "note": "default server scopes", "scopes": ["users:activity!user", f"access:servers!server={STUDENTS[3]}/"]})
    response.raise_for_status()
    plain = response.json()["token"]
    found = helpers_hub._ask_hub(hub.api, plain)
    assert found.base_url is None and helpers_hub.SCOPE in found.warning
    with_scope = helpers_hub._ask_hub(hub.api, student_tokens(hub, STUDENTS[3]))
    assert with_scope.base_url == f"{hub.service_url}/v1" and with_scope.warning is None


def test_the_servers_token_has_the_scopes_the_classroom_config_grants(hub, classroom):
    """The token JupyterHub put in a student's server environment, as the hub lists it."""
    tokens = hub.driver.get(f"/users/{STUDENTS[0]}/tokens").json()["api_tokens"]
    server_tokens = [t for t in tokens if t.get("note", "").startswith("Server at")]
    assert server_tokens, tokens
    assert helpers_hub.SCOPE in server_tokens[-1]["scopes"], server_tokens[-1]["scopes"]


@pytest.mark.timeout(60)
def test_the_command_line_on_all_interfaces_takes_the_hubs_tokens_as_its_key(hub, classroom):
    """`serve --jupyterhub --host 0.0.0.0`, as in a cluster's hub pod: no --api-key, and still no open door."""
    port = free_port()
    env = child_env(JUPYTERHUB_API_URL=hub.api, JUPYTERHUB_SERVICE_URL=f"http://hub:{port}",
                    JUPYTERHUB_SERVICE_PREFIX="/services/practice/")
    process = subprocess.Popen([sys.executable, "-m", "helpers", "serve", "--jupyterhub", "--host", "0.0.0.0",
                                "--no-access-log"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        first_line = process.stdout.readline()
        assert "as a JupyterHub service" in first_line and f":{port}/v1" in first_line, first_line
        base = f"http://127.0.0.1:{port}/services/practice/v1"
        def answer() -> httpx.Response | None:
            assert process.poll() is None, "the service exited"
            try:
                return httpx.get(base + "/models", timeout=2)
            except httpx.TransportError:
                return None

        assert wait_until(answer, 20, "the service did not answer", interval=0.1).status_code == 401
        token = student_tokens(hub, STUDENTS[4])
        assert httpx.get(base + "/models", headers=_auth(token), timeout=10).status_code == 200
    finally:
        process.terminate()
        process.wait(timeout=10)
