"""The widget display in a real kernel: what it costs in kernel messages, what a saved notebook keeps,
and that Stop, an interrupt and a terminal behave."""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time

import nbformat
import pytest
from nbclient import NotebookClient

from helpers.display.throttle import STATUS_PER_SECOND, TEXT_PER_SECOND
from helpers.server import replies
from tests.kernel_harness import Kernel
from tests.support import child_env, wait_until

MARKDOWN_PROMPT = "show me some markdown"
MARKDOWN_REPLY = replies.reply_text([{"role": "user", "content": MARKDOWN_PROMPT}])
PRINT_RESULT = "print('\\nRESULT', json.dumps({'text': r.text, 'stopped': r.stopped, 'error': r.error, 'tokens': r.tokens}))"
MESSAGES_PER_SECOND_LIMIT = 25  # issue 11: at most 25 kernel messages a second for one stream


@pytest.fixture(scope="module")
def kernel(practice_server):
    with Kernel({"OPENAI_BASE_URL": practice_server.base_url}) as k:
        k.run("import helpers, json")
        yield k


def text_bytes(messages: list[dict]) -> int:
    """Bytes of reply text in these messages, wherever the display put it: stream output, an Output's
    state, custom messages, any widget state that holds text, displayed data."""
    total = 0
    for message in messages:
        content = message["content"]
        if message["msg_type"] == "stream":
            total += len(content["text"].encode())
        elif message["msg_type"] in ("comm_open", "comm_msg"):
            data = content.get("data", {})
            state = data.get("state", {})
            total += len(json.dumps(state.get("outputs", [])).encode()) if state.get("outputs") else 0
            total += sum(len(state.get(key, "").encode()) for key in ("text", "thinking", "value"))
            custom = data.get("content") if data.get("method") == "custom" else None
            if isinstance(custom, dict):
                total += sum(len(str(custom.get(key, "")).encode()) for key in ("text", "thinking"))
        elif message["msg_type"] in ("display_data", "update_display_data"):
            total += sum(len(str(v).encode()) for k, v in content["data"].items() if k.startswith("text/markdown"))
    return total


def result_of(run) -> dict:
    return json.loads(run.printed("RESULT"))


def final_state(run, comm_id: str | None = None) -> dict:
    """A widget's state after the cell: every update merged, in order (the view's, by default)."""
    state: dict = {}
    for message in run.of_type("comm_open", "comm_msg"):
        data = message["content"].get("data", {})
        if comm_id is None and message["msg_type"] == "comm_open" and "capture" in data.get("state", {}):
            comm_id = message["content"]["comm_id"]
        if message["content"]["comm_id"] == comm_id:
            state.update(data.get("state", {}))
    return state


def test_the_throttle_lets_most_tokens_through_at_once():
    """30 tokens a second for 10 s against the text throttle: the rate holds, and most tokens go at once."""
    from helpers.display import Throttle

    throttle = Throttle(TEXT_PER_SECOND)
    arrivals = [i / 30 for i in range(300)]
    sent = [throttle.due(t) for t in arrivals]
    assert sum(sent) <= TEXT_PER_SECOND * 10 + 1
    assert sum(sent) / len(sent) > 0.55, f"only {sum(sent)} of {len(sent)} tokens went at once"


def display_messages(messages: list[dict]) -> list[dict]:
    return [m for m in messages if m["msg_type"] in ("stream", "comm_msg", "display_data", "update_display_data",
                                                        "clear_output")]


@pytest.mark.parametrize("tokens_per_second", [0, 200])
def test_a_cell_sends_the_reply_once_at_a_bounded_rate(kernel, tokens_per_second):
    run = kernel.run(
        f"r = helpers.stream_to_output({MARKDOWN_PROMPT!r}, "
        f"extra_headers={{'X-Practice-Tokens-Per-Second': '{tokens_per_second}'}})\n" + PRINT_RESULT
    )
    assert not run.errors, run.errors
    result = result_of(run)
    assert result["text"] == MARKDOWN_REPLY and not result["stopped"] and result["error"] is None

    view_messages = [m for m in run.messages if not (m["msg_type"] == "stream" and "RESULT" in m["content"]["text"])]
    reply_bytes = len(MARKDOWN_REPLY.encode())
    carried = text_bytes(view_messages)
    assert carried < 1.1 * reply_bytes, f"the kernel sent {carried} bytes of text for a {reply_bytes}-byte reply"

    captured = "".join(m["content"]["text"] for m in view_messages if m["msg_type"] == "stream")
    assert captured == MARKDOWN_REPLY, "the captured stdout is not the reply, in order"
    claims = [m["content"]["data"]["state"]["msg_id"] for m in run.of_type("comm_msg")
              if "msg_id" in m["content"]["data"].get("state", {})]
    cell_id = run.of_type("execute_input")[0]["parent_header"]["msg_id"]
    assert claims == [cell_id, ""], f"the capture Output was claimed {claims}"

    seconds = run.ended - run.started
    updates = display_messages(view_messages)
    allowed = (TEXT_PER_SECOND + STATUS_PER_SECOND) * seconds + 10  # + opening, claiming and the final state
    assert len(updates) <= allowed, f"{len(updates)} display messages in {seconds:.1f} s"
    if tokens_per_second:
        assert seconds > 9 and len(updates) / seconds <= MESSAGES_PER_SECOND_LIMIT
        assert len(updates) / seconds > TEXT_PER_SECOND / 2, "the view hardly refreshed: a throttle too tight?"


def test_a_widget_event_sends_only_the_new_text(kernel):
    """From a button's click (a comm message, not a cell) the text goes as custom messages, once."""
    run = kernel.run(
        "import asyncio, ipywidgets as widgets\n"
        "view = helpers.StreamView()\n"
        "go = widgets.Button(description='Go')\n"
        "go.on_click(lambda _b: asyncio.ensure_future(helpers.astream_to_output(\n"
        f"    {MARKDOWN_PROMPT!r}, view=view, extra_headers={{'X-Practice-Tokens-Per-Second': '400'}})))\n"
        "display(go, view)\n"
        "print('IDS', go.model_id, view.widget.model_id)"
    )
    assert not run.errors, run.errors
    button, widget = run.stdout.split("IDS ", 1)[1].split()
    messages = []
    kernel.click(button)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            message = kernel.client.get_iopub_msg(timeout=1)
        except queue.Empty:
            continue
        messages.append(message)
        data = message["content"].get("data", {})
        if message["msg_type"] == "comm_msg" and data.get("state", {}).get("done"):
            break
    else:
        raise AssertionError("the view never said it was done")

    assert not [m for m in messages if m["msg_type"] == "stream"], "output sent for a click is dropped by the page"
    deltas = [m["content"]["data"]["content"] for m in messages
              if m["msg_type"] == "comm_msg" and m["content"]["data"].get("method") == "custom"
              and m["content"]["comm_id"] == widget]
    assert "".join(d["text"] for d in deltas) == MARKDOWN_REPLY
    assert text_bytes(messages) < 1.1 * len(MARKDOWN_REPLY.encode())
    shown = kernel.run("print('KERNEL', view.widget.text == r_text)".replace("r_text", repr(MARKDOWN_REPLY)))
    assert "KERNEL True" in shown.stdout, "the kernel's copy of the text (for a page that reloads) is not the reply"


def test_the_capture_output_does_not_echo_a_front_ends_copy(kernel):
    """JupyterLab and nbclient send an Output's whole list of outputs back after each captured message;
    echoing each of those would make the traffic grow with the square of the reply."""
    run = kernel.run("v = helpers.StreamView(); print('ID', v.capture.model_id)")
    capture = run.stdout.split("ID ", 1)[1].strip()
    outputs = [{"output_type": "stream", "name": "stdout", "text": "x" * 1000}]
    update = {"comm_id": capture, "data": {"method": "update", "state": {"outputs": outputs}, "buffer_paths": []}}
    kernel.client.shell_channel.send(kernel.client.session.msg("comm_msg", update))
    check = kernel.run("print('LEN', len(v.capture.outputs))")
    assert "LEN 1" in check.stdout, "the kernel did not take the front end's copy"
    echoes = []
    try:
        while True:
            message = kernel.client.get_iopub_msg(timeout=0.5)
            if message["msg_type"] == "comm_msg" and message["content"]["data"].get("method") == "echo_update":
                echoes.append(message)
    except queue.Empty:
        pass
    assert not echoes, "the capture Output echoed the front end's outputs back"


def test_a_saved_notebook_keeps_the_final_text(practice_server, tmp_path):
    """What `make notebooks` stores (nbclient): the Output's state holds the reply, referenced by the view."""
    notebook = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell(f"import helpers\nr = helpers.stream_to_output({MARKDOWN_PROMPT!r}, title='Tour')"),
    ], metadata={"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    NotebookClient(notebook, timeout=60, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}},
                   store_widget_state=True).execute()
    state = notebook.metadata["widgets"]["application/vnd.jupyter.widget-state+json"]["state"]
    views = [m["state"] for m in state.values() if m["model_name"] == "AnyModel" and "capture" in m["state"]]
    assert len(views) == 1
    view = views[0]
    assert view["title"] == "Tour" and view["phase"] == "done" and view["status"].startswith("✓")
    assert view["markdown"] is True
    capture = state[view["capture"][len("IPY_MODEL_"):]]["state"]
    text = "".join(o["text"] for o in capture["outputs"] if o["output_type"] == "stream" and o["name"] == "stdout")
    assert text == MARKDOWN_REPLY
    shown = notebook.cells[0].outputs
    assert [o["output_type"] for o in shown] == ["display_data"], "the reply leaked into the cell's own output"


def send_custom(k: Kernel, comm_id: str, content: dict) -> None:
    message = k.client.session.msg("comm_msg", {"comm_id": comm_id, "data": {"method": "custom", "content": content}})
    k.client.shell_channel.send(message)


def test_stop_button_closes_the_stream_and_keeps_the_text(fresh_server):
    server = fresh_server(tokens_per_second=30)
    stats = server.app.state.stats
    clicked = {}

    with Kernel({"OPENAI_BASE_URL": server.base_url}) as k:
        k.run("import helpers, json")

        def click_stop(message):
            content = message["content"]
            if message["msg_type"] == "comm_open" and content["data"]["state"].get("stoppable"):
                clicked["at"] = time.perf_counter() + 1.0
                threading.Timer(1.0, send_custom, (k, content["comm_id"], {"event": "stop"})).start()

        run = k.run("r = await helpers.astream_to_output('tell me a long story')\n" + PRINT_RESULT,
                    on_message=click_stop)
    assert not run.errors, run.errors
    result = result_of(run)
    assert result["stopped"] and result["error"] is None
    assert 5 < len(result["text"]) < len(replies.LONG_STORY) // 4
    assert replies.LONG_STORY.startswith(result["text"])
    assert run.ended - clicked["at"] < 1.0, "the cell should end within a second of the click"
    final = final_state(run)
    assert final["done"] and final["phase"] == "stopped" and final["status"].startswith("■ stopped"), final
    wait_until(lambda: stats.client_disconnects == 1 and stats.active_streams == 0, 3)


def test_kernel_interrupt_stops_a_sync_stream_and_the_queued_cells(fresh_server):
    server = fresh_server(tokens_per_second=30)
    stats = server.app.state.stats
    with Kernel({"OPENAI_BASE_URL": server.base_url}) as k:
        k.run("import helpers, json")
        timers: list[threading.Timer] = []

        def interrupt_soon(message):
            if message["msg_type"] == "comm_open" and not timers:
                timers.append(threading.Timer(1.0, k.manager.interrupt_kernel))
                timers[0].start()

        run = k.run("r = helpers.stream_to_output('tell me a long story')\nprint('AFTER')", on_message=interrupt_soon)
        assert [e["content"]["ename"] for e in run.errors] == ["KeyboardInterrupt"], "a Run All would go on"
        assert "AFTER" not in run.stdout
        shown = "".join(m["content"]["text"] for m in run.of_type("stream"))
        assert replies.LONG_STORY.startswith(shown) and len(shown) > 5, "the partial text is not on screen"
        final = final_state(run)
        assert final["done"] and final["phase"] == "stopped" and final["status"].startswith("■ stopped"), final
    wait_until(lambda: stats.client_disconnects == 1, 3)


def test_a_terminal_gets_plain_text(practice_server):
    """No notebook front end (plain python, or IPython in a terminal): the text is printed as it arrives."""
    code = "import helpers; r = helpers.stream_to_output('write a haiku')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                          env=child_env(OPENAI_BASE_URL=practice_server.base_url))
    assert done.returncode == 0, done.stderr
    haiku = replies.reply_text([{"role": "user", "content": "write a haiku"}])
    assert done.stdout.startswith(haiku + "\n✓ "), done.stdout
    assert "Widget" not in done.stdout and "<" not in done.stdout
