"""notebooks/04-streaming.ipynb in JupyterLab: the stream view grows on screen, and Stop stops.

The cells are found by their source (the first `stream_to_output(` cell, then the first
`astream_to_output(` cell after it), so the notebook can change around them. The practice server runs at
30 tokens per second here, so a stream takes long enough to watch it grow.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.support import wait_until

NOTEBOOK = "04-streaming.ipynb"
SYNC_LIMIT_MS = 30_000  # a sync stream still going after this long is interrupted (■)
ENDED = ("✓", "■", "⚠")


def is_sync_stream(source: str) -> bool:
    return "stream_to_output(" in source and "astream_to_output(" not in source


@pytest.mark.timeout(240)
def test_streaming_notebook(open_notebook, practice, page, artifacts, report):
    notebook = open_notebook(NOTEBOOK)
    sync_cell = notebook.index(is_sync_stream)
    stop_cell = notebook.index("astream_to_output(", after=sync_cell)

    # --- the sync helper cell: text grows on screen, several times a second -----------------
    notebook.run_range(0, sync_cell)
    notebook.watch(sync_cell)
    first_exchange = len(practice.app.exchanges)
    before = notebook.start(sync_cell)
    interrupted = False
    try:
        notebook.wait_for_status(sync_cell, *ENDED, timeout=SYNC_LIMIT_MS)
    except PlaywrightTimeoutError:  # a long stream: stop it the way the helper says, with a kernel interrupt
        notebook.interrupt_kernel()
        interrupted = True
        notebook.wait_for_status(sync_cell, "■ stopped", timeout=10_000)
    notebook.wait(sync_cell, before)
    watched = notebook.watched(sync_cell)
    final = notebook.view(sync_cell)

    streamed = [s for s in watched["samples"] if s["stream"]]
    states = []
    for sample in streamed:
        if not states or sample["stream"] != states[-1]["stream"]:
            states.append(sample)
    texts = [s["stream"] for s in states]
    report(f"{NOTEBOOK} cell {sync_cell}: {len(states)} distinct texts in {len(watched['samples'])} samples "
           f"over {(states[-1]['t'] - states[0]['t']) / 1000:.1f} s; final status {final['status']!r}")
    assert len(texts) >= 5, f"the text did not grow on screen, it arrived in {len(texts)} paint(s): {texts!r:.300}"
    for shorter, longer in zip(texts, texts[1:]):
        assert longer.startswith(shorter), (
            f"the streamed text changed instead of growing: {shorter!r:.80} -> {longer!r:.80}")
    assert states[-1]["t"] - states[0]["t"] > 1000, "all the text came within one second: no visible streaming"
    assert any("tok/s" in s["status"] and "streaming" in s["status"] for s in streamed), (
        f"no tokens-per-second in the status while streaming: {[s['status'] for s in streamed][:5]}")

    exchanges = practice.app.exchanges[first_exchange:]
    assert len(exchanges) == 1, f"expected one chat completion from cell {sync_cell}, got {len(exchanges)}"
    sent = exchanges[0].text
    assert sent.startswith(watched["longest"]) and watched["longest"], "the page shows text the server never sent"
    if not interrupted:
        assert watched["longest"] == sent, "the page never showed the whole reply"
        assert final["status"].startswith("✓") and "tok/s" in final["status"], final["status"]
    expect(notebook.output(sync_cell)).to_be_visible()
    assert final["text"].strip(), "the text disappeared at the end"
    notebook.cell(sync_cell).scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "streaming-stream_to_output.png"))

    # --- the async cell: Stop after ~2 s ends the stream within 1 s and keeps the text -----------
    notebook.run_range(sync_cell + 1, stop_cell)
    first_exchange = len(practice.app.exchanges)
    before = notebook.start(stop_cell)
    stop = notebook.cell(stop_cell).get_by_role("button", name="Stop")
    expect(stop).to_be_enabled(timeout=30_000)
    notebook.wait_for_output_text(stop_cell, timeout=30_000)
    page.wait_for_timeout(2000)  # the brief: a reader clicks Stop after about two seconds
    assert not any(e in notebook.view(stop_cell)["status"] for e in ENDED), "the stream ended before Stop"
    # Time the click and the stopped status in the page itself, not across the Playwright round trips.
    stop.evaluate("(button) => notebookTest.timeStop(button)")
    disconnects = practice.app.state.stats.client_disconnects
    shown_before = notebook.view(stop_cell)["text"]
    stop.click()
    status = notebook.wait_for_status(stop_cell, "■ stopped", timeout=10_000)
    timing = page.evaluate("notebookTest.stopTiming()")
    stopped_ms = timing["stopped"] - timing["clicked"]
    report(f"{NOTEBOOK} cell {stop_cell}: Stop -> {status!r} in {stopped_ms:.0f} ms")
    assert stopped_ms < 1000, f"the stream took {stopped_ms:.0f} ms to stop"
    notebook.wait(stop_cell, before, timeout=10_000)

    shown = notebook.view(stop_cell)
    expect(notebook.output(stop_cell)).to_be_visible()
    exchanges = practice.app.exchanges[first_exchange:]
    assert len(exchanges) == 1, f"expected one chat completion from cell {stop_cell}, got {len(exchanges)}"
    sent = exchanges[0].text
    assert shown["text"].strip() and len(shown["text"]) >= len(shown_before), "the partial text went away"
    if not shown["markdown"]:
        assert shown["text"].startswith(shown_before) and sent.startswith(shown["text"]), (
            "the partial text on screen is not what the server sent")
    wait_until(lambda: practice.app.state.stats.client_disconnects > disconnects, 5,
               "the practice server never saw the client go away", interval=0.05)
    wait_until(lambda: practice.app.state.stats.active_streams == 0, 5, "a stream is still running on the server",
               interval=0.05)
    notebook.cell(stop_cell).scroll_into_view_if_needed()  # the final screenshot (the page fixture's) shows it
    assert not page.console_errors, page.console_errors
