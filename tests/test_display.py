"""The widget display in a real kernel: what it costs in kernel messages, and that Stop stops."""

from __future__ import annotations

import json
import threading
import time

import pytest

from helpers.server import replies
from tests.kernel_harness import Kernel
from tests.support import wait_until

PRINT_RESULT = "print('\\nRESULT', json.dumps({'text': r.text, 'stopped': r.stopped, 'error': r.error, 'tokens': r.tokens}))"
COUNT_2000 = replies.reply_text([{"role": "user", "content": "count to 2000"}])
REFRESH_PER_SECOND = 5


@pytest.fixture(scope="module")
def kernel(practice_server):
    with Kernel({"OPENAI_BASE_URL": practice_server.base_url}) as k:
        k.run("import helpers, json")
        yield k


def reply_text_bytes(run) -> int:
    """Bytes of reply text the kernel sent: stream texts, Output widget states, displayed text."""
    total = sum(len(m["content"]["text"].encode()) for m in run.of_type("stream"))
    for state in run.comm_states():
        total += len(json.dumps(state.get("outputs", [])).encode()) if "outputs" in state else 0
    for message in run.of_type("display_data", "update_display_data"):
        total += sum(len(str(v).encode()) for k, v in message["content"]["data"].items() if k.startswith("text"))
    return total


def stream_cell(tokens_per_second: float, markdown: bool = False) -> str:
    return (
        "r = helpers.stream_to_output('count to 2000', "
        f"extra_headers={{'X-Practice-Tokens-Per-Second': '{tokens_per_second}'}}, markdown={markdown})\n"
        + PRINT_RESULT
    )


def result_of(run) -> dict:
    return json.loads(run.printed("RESULT"))


@pytest.mark.parametrize("tokens_per_second", [0, 200])
def test_traffic_stays_linear_in_the_reply(kernel, tokens_per_second):
    run = kernel.run(stream_cell(tokens_per_second))
    assert not run.errors, run.errors
    result = result_of(run)
    assert result["text"] == COUNT_2000 and not result["stopped"] and result["error"] is None

    reply_bytes = len(COUNT_2000.encode())
    carried = reply_text_bytes(run) - len(run.stdout.split("\nRESULT", 1)[1].encode()) - 1
    assert carried < 2 * reply_bytes, f"kernel carried {carried} bytes of text for a {reply_bytes}-byte reply"

    streaming_seconds = run.ended - run.started
    updates = len(run.of_type("stream", "comm_msg", "display_data", "update_display_data", "clear_output"))
    allowed = 4 * REFRESH_PER_SECOND * streaming_seconds + 30
    assert updates <= allowed, f"{updates} display messages in {streaming_seconds:.1f} s"


def test_markdown_rendering_sends_the_text_once_more(kernel):
    run = kernel.run(stream_cell(0, markdown=True))
    assert not run.errors
    markdown = [m for m in run.of_type("display_data") if "text/markdown" in m["content"]["data"]]
    assert len(markdown) == 1 and markdown[0]["content"]["data"]["text/markdown"] == COUNT_2000


def test_stop_button_closes_the_stream_and_keeps_the_text(fresh_server):
    server = fresh_server(tokens_per_second=30)
    stats = server.app.state.stats
    clicked = {}

    with Kernel({"OPENAI_BASE_URL": server.base_url}) as k:
        k.run("import helpers, json")

        def click_stop(message):
            content = message["content"]
            if message["msg_type"] == "comm_open" and content["data"]["state"].get("description") == "Stop":
                clicked["at"] = time.perf_counter() + 1.0
                k.click_later(content["comm_id"], 1.0)

        run = k.run(
            "r = await helpers.astream_to_output('tell me a long story')\n" + PRINT_RESULT,
            on_message=click_stop,
        )
    assert not run.errors, run.errors
    result = result_of(run)
    assert result["stopped"] and result["error"] is None
    assert 5 < len(result["text"]) < len(replies.LONG_STORY) // 4
    assert replies.LONG_STORY.startswith(result["text"])
    assert run.ended - clicked["at"] < 1.0, "the cell should end within a second of the click"
    wait_until(lambda: stats.client_disconnects == 1 and stats.active_streams == 0, 3)


def test_kernel_interrupt_stops_a_sync_stream(fresh_server):
    server = fresh_server(tokens_per_second=30)
    stats = server.app.state.stats
    with Kernel({"OPENAI_BASE_URL": server.base_url}) as k:
        k.run("import helpers, json")
        timers: list[threading.Timer] = []

        def interrupt_soon(message):
            if message["msg_type"] == "comm_open" and not timers:
                timers.append(threading.Timer(1.0, k.manager.interrupt_kernel))
                timers[0].start()

        run = k.run(
            "r = helpers.stream_to_output('tell me a long story')\n" + PRINT_RESULT,
            on_message=interrupt_soon,
        )
    assert not run.errors, run.errors
    result = result_of(run)
    assert result["stopped"] and replies.LONG_STORY.startswith(result["text"]) and len(result["text"]) > 5
    wait_until(lambda: stats.client_disconnects == 1, 3)
