"""The helpers against llama.cpp serving SmolLM2-135M: check, complete, stream, astream.

What llama-cpp-python's server does differently from the practice server, and what these tests pin:
- it accepts ``stream_options: {"include_usage": true}`` but sends no usage chunk, so a stream's
  ``result.usage`` is None and ``result.tokens`` falls back to counting pieces;
- non-streamed replies do carry ``usage``;
- it has no root routes: ``/models`` and ``/chat/completions`` without ``/v1`` are 404;
- it serves one model under any name (the model field is echoed back).
Replies are not deterministic, so only their shape is checked. max_tokens keeps every call short.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

import openai
import pytest

import helpers
from tests.support import child_env

PROMPT = "write a poem about a tree"


def test_check_command_passes_and_says_there_is_no_usage_chunk(tmp_path):
    # cwd is a temporary directory so that no .env file of the checkout gets in the way.
    done = subprocess.run([sys.executable, "-m", "helpers", "check"], capture_output=True, text=True,
                          timeout=120, cwd=tmp_path, env=child_env())
    report = done.stdout
    assert done.returncode == 0, report + done.stderr
    assert os.environ["OPENAI_BASE_URL"] in report and "model smollm2" in report
    assert "models: smollm2" in report
    assert "· not the practice server" in report
    assert "✓ completion works" in report
    assert "✓ streaming works" in report
    assert "· no usage chunk" in report and "the helpers count pieces instead" in report
    assert "All good" in report


def test_check_returns_a_report_without_usage_chunk(capsys):
    report = helpers.check()
    assert report.ok, str(report)
    assert report.models == ["smollm2"]
    assert report.usage_chunk is False and not report.practice
    assert not helpers.is_practice_server()
    assert "no usage chunk" in capsys.readouterr().out


def test_complete_respects_max_tokens_and_reports_usage():
    reply = helpers.complete(PROMPT, max_tokens=5)
    assert reply.text.strip()
    assert reply.finish_reason == "length"
    assert reply.usage is not None, "llama.cpp reports usage in non-streamed replies"
    assert reply.usage.completion_tokens == 5
    assert reply.usage.prompt_tokens > 0
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert reply.model == "smollm2" and reply.seconds > 0


def test_complete_with_messages_and_a_stop():
    messages = [
        {"role": "system", "content": "You are a helpful assistant."},
        {"role": "user", "content": "What is the capital of France?"},
    ]
    reply = helpers.complete(messages, max_tokens=30)
    assert reply.text.strip()
    assert reply.finish_reason in {"stop", "length"}
    assert reply.usage is not None and 0 < reply.usage.completion_tokens <= 30


def test_stream_pieces_arrive_and_tokens_fall_back_to_pieces():
    text_stream = helpers.stream(PROMPT, max_tokens=20)  # asks for include_usage: accepted, ignored
    pieces = list(text_stream)
    result = text_stream.result
    assert len(pieces) > 1 and all(pieces)
    assert result.text == "".join(pieces) and result.text.strip()
    assert result.finish_reason == "length"
    assert result.usage is None, "llama.cpp sends no usage chunk (if it does now, update helpers.check's expectations)"
    assert result.tokens == len(result.pieces) <= 20
    assert result.chunks >= len(pieces)  # plus the role chunk and the finish chunk
    assert result.time_to_first_token is not None and result.seconds >= result.time_to_first_token
    assert result.tokens_per_second > 0
    assert not result.stopped and result.error is None
    assert result.summary().startswith(f"{result.tokens} tokens") and result.summary().endswith("(length)")


def test_stream_without_asking_for_usage():
    text_stream = helpers.stream(PROMPT, include_usage=False, max_tokens=10)
    assert "".join(text_stream).strip()
    assert text_stream.result.usage is None and text_stream.result.tokens == len(text_stream.result.pieces)


def test_leaving_a_stream_early_closes_it():
    text_stream = helpers.stream("tell me a long story", max_tokens=200)
    for index, _ in enumerate(text_stream):
        if index == 4:
            break
    assert len(text_stream.result.pieces) == 5 and text_stream.result.error is None
    # The connection is closed and the server takes the next request.
    assert helpers.complete("hi", max_tokens=3).text


def test_astream():
    async def run():
        text_stream = await helpers.astream(PROMPT, max_tokens=15)
        return [piece async for piece in text_stream], text_stream.result

    pieces, result = asyncio.run(run())
    assert pieces and result.text == "".join(pieces)
    assert result.usage is None and result.tokens == len(pieces) <= 15
    assert result.finish_reason == "length"


def test_any_model_name_is_served():
    reply = helpers.complete("hi", model="practice", max_tokens=3)
    assert reply.text and reply.model == "practice"  # one model, any name: the name is echoed back


def test_no_root_routes_the_missing_v1_is_explained():
    root = os.environ["OPENAI_BASE_URL"].removesuffix("/v1")
    settings = helpers.settings(base_url=root)
    assert any("/v1" in warning for warning in settings.warnings)
    client = helpers.client(settings, max_retries=0)
    with pytest.raises(openai.NotFoundError) as caught:
        helpers.complete("hi", client=client, max_tokens=3)
    explanation = helpers.explain(caught.value)
    assert "lacks /v1" in explanation and "\n" not in explanation

    report = helpers.check(settings, show=False)
    assert not report.ok and "lacks /v1" in report.fix


@pytest.mark.parametrize("option", [[], ["--no-stream"]], ids=["stream", "no-stream"])
def test_demo_command_prints_a_reply(tmp_path, option):
    """The seed script, modernised: no max_tokens there, so SmolLM2 writes until it stops (a few seconds)."""
    done = subprocess.run([sys.executable, "-m", "helpers", "demo", *option], capture_output=True, text=True,
                          timeout=110, cwd=tmp_path, env=child_env())
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() and not done.stderr.strip()
