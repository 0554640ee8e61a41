"""Every practice fault ends in one clear line; `check` reports and exits with the right code."""

from __future__ import annotations

import subprocess
import sys

import openai
import pytest

import helpers
from helpers.server.testing import free_port
from tests.support import child_env

SECRET = "sk-proj-" + "Zz9Yy8Xx7Ww6Vv5Uu4Tt3"


def client_for(base_url: str, **options) -> openai.OpenAI:
    return helpers.client(helpers.settings(base_url=base_url), **options)


@pytest.mark.parametrize(
    "fault, expected",
    [
        ("401", "OPENAI_API_KEY"),
        ("404", "OPENAI_MODEL"),
        ("429", "Rate limited (429) (automatic retries were off)"),
        ("500", "The server failed (500) (automatic retries were off)"),
        ("503", "The server failed (503) (automatic retries were off)"),
    ],
)
def test_status_faults_are_explained(practice_server, fault, expected):
    client = client_for(practice_server.base_url, max_retries=0)
    with pytest.raises(openai.APIStatusError) as caught:
        helpers.complete("hi", client=client, extra_headers={"X-Practice-Fault": fault})
    explanation = helpers.explain(caught.value)
    assert expected in explanation and "\n" not in explanation


def test_explanations_count_the_retries(practice_server):
    with pytest.raises(openai.RateLimitError) as caught:
        helpers.complete("hi", client=client_for(practice_server.base_url, max_retries=1),
                         extra_headers={"X-Practice-Fault": "429=0.1"})
    assert "after 1 automatic retry" in helpers.explain(caught.value)


def test_stall_becomes_a_timeout_explanation(practice_server):
    client = client_for(practice_server.base_url, max_retries=0, timeout=0.5)
    with pytest.raises(openai.APITimeoutError) as caught:
        helpers.complete("hi", client=client, extra_headers={"X-Practice-Fault": "stall=2"})
    assert "Timed out" in helpers.explain(caught.value)


@pytest.mark.parametrize("fault, expected", [("disconnect@5", "connection broke"), ("error@5", "error in the middle")])
def test_mid_stream_faults_keep_the_text(practice_server, fault, expected):
    text_stream = helpers.stream("write a poem about a tree", extra_headers={"X-Practice-Fault": fault})
    with pytest.raises(openai.APIError):
        for _ in text_stream:
            pass
    assert len(text_stream.result.pieces) == 5 and expected in text_stream.result.error


def test_connection_refused_says_how_to_start_the_server():
    client = client_for(f"http://127.0.0.1:{free_port()}/v1", max_retries=0)
    with pytest.raises(openai.APIConnectionError) as caught:
        helpers.complete("hi", client=client)
    assert "python -m helpers serve" in helpers.explain(caught.value)


def test_missing_v1_404_points_at_the_base_url(practice_server):
    client = client_for(practice_server.root_url + "/api", max_retries=0)
    with pytest.raises(openai.NotFoundError) as caught:
        helpers.complete("hi", client=client)
    assert "lacks /v1" in helpers.explain(caught.value)


def test_explanations_never_carry_a_key():
    request = openai._base_client.httpx2.Request("POST", "http://x/v1/chat/completions")  # type: ignore[attr-defined]
    response = openai._base_client.httpx2.Response(401, request=request)  # type: ignore[attr-defined]
    error = openai.AuthenticationError(
        f"Incorrect API key provided: {SECRET}", response=response, body={"error": {"message": f"bad {SECRET}"}}
    )
    assert SECRET not in helpers.explain(error, SECRET)
    assert SECRET not in helpers.explain(openai.APIError(f"oops {SECRET}", request=request, body=None))


def test_check_report_on_the_practice_server(practice_server, capsys):
    report = helpers.check()
    printed = capsys.readouterr().out
    assert report.ok and "practice" in report.models and report.usage_chunk is True
    assert "streaming works" in printed and "All good" in printed
    assert report.practice and "this is the practice server" in printed


def test_is_practice_server_tells_it_from_others(practice_server, fresh_server):
    assert helpers.is_practice_server()
    nowhere = helpers.settings(base_url=f"http://127.0.0.1:{free_port()}/v1")
    assert not helpers.is_practice_server(nowhere)
    guarded = fresh_server(api_key="the-room-key")  # a 401 answers "cannot tell", which is not a yes
    assert not helpers.is_practice_server(helpers.settings(base_url=guarded.base_url, api_key="wrong"))
    assert helpers.is_practice_server(helpers.settings(base_url=guarded.base_url, api_key="the-room-key"))


def run_check(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "helpers", "check"], env=child_env(**env), capture_output=True, text=True, timeout=60
    )


def test_check_command_fails_with_a_fix_when_nothing_listens():
    done = run_check({"OPENAI_BASE_URL": f"http://127.0.0.1:{free_port()}/v1"})
    assert done.returncode == 1 and "Fix:" in done.stdout and "python -m helpers serve" in done.stdout


def test_check_command_on_a_wrong_key_never_prints_it(fresh_server):
    server = fresh_server(api_key="the-room-key")
    done = run_check({"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": SECRET})
    assert done.returncode == 1 and "401" in done.stdout
    assert SECRET not in done.stdout + done.stderr
    ok = run_check({"OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "the-room-key"})
    assert ok.returncode == 0, ok.stdout


def test_demo_command_streams_the_poem(practice_server):
    done = subprocess.run([sys.executable, "-m", "helpers", "demo"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == helpers.complete("write a poem about a tree").text
    done = subprocess.run([sys.executable, "-m", "helpers", "demo", "--no-stream", "--prompt", "write a haiku"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "one tree, many years." in done.stdout
