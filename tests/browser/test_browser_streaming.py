"""notebooks/04-streaming.ipynb in the page: the stream view grows on screen as Markdown, and Stop stops.

The cells are found by their source (the first `stream_to_output(` cell, then the first
`astream_to_output(` cell after it), so the notebook can change around them. The practice server runs at
30 tokens per second here, so a stream takes long enough to watch it grow.
"""

from __future__ import annotations


import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.browser import stream_view
from tests.browser.stream_view import ENDED
from tests.support import wait_until

NOTEBOOK = "04-streaming.ipynb"
SYNC_LIMIT_MS = 30_000  # a sync stream still going after this long is interrupted (■)


def is_sync_stream(source: str) -> bool:
    return "stream_to_output(" in source and "astream_to_output(" not in source


@pytest.mark.timeout(240)
def test_streaming_notebook(open_notebook, practice, page, artifacts, report):
    stream_view.install(page)
    notebook = open_notebook(NOTEBOOK)
    sync_cell = notebook.index(is_sync_stream)
    stop_cell = notebook.index("astream_to_output(", after=sync_cell)

    # --- the sync helper cell: the rendered text grows on screen, many times a second ---------
    notebook.run_range(0, sync_cell)
    page.evaluate("(index) => streamView.watch(index)", sync_cell)
    first_exchange = len(practice.app.exchanges)
    before = notebook.start(sync_cell)
    try:
        stream_view.wait_for_end(page, sync_cell, timeout=SYNC_LIMIT_MS)
    except PlaywrightTimeoutError:  # a long stream: stop it the way the helper says, with a kernel interrupt
        notebook.interrupt_kernel()
        stream_view.wait_for_status(page, sync_cell, "■ stopped", timeout=10_000)
    page.wait_for_timeout(500)
    watched = page.evaluate("(index) => streamView.watched(index)", sync_cell)
    final = stream_view.view(page, sync_cell)

    lengths = [c["length"] for c in watched["changes"] if c["length"] > 0]
    seconds = (watched["changes"][-1]["t"] - watched["changes"][0]["t"]) / 1000 if watched["changes"] else 0
    report(f"{NOTEBOOK} cell {sync_cell}: {len(lengths)} screen updates over {seconds:.1f} s; "
           f"final status {final['status']!r}")
    assert len(lengths) >= 5, f"the text did not grow on screen: it arrived in {len(lengths)} paint(s)"
    assert lengths == sorted(lengths), "the text on screen shrank while it streamed"
    assert seconds > 1, "all the text came within one second: no visible streaming"
    streaming = [s for s in watched["samples"] if not s["status"].startswith(ENDED)]
    assert any("tok/s" in s["status"] and s["phase"] == "answering" for s in streaming), (
        f"no tokens-per-second in the status while streaming: {[s['status'] for s in streaming][:5]}")

    exchanges = practice.app.exchanges[first_exchange:]
    assert len(exchanges) == 1, f"expected one chat completion from cell {sync_cell}, got {len(exchanges)}"
    sent = exchanges[0].text
    assert final["shown"] <= len(sent.encode("utf-16-le")) // 2 and final["text"].strip()
    if final["status"].startswith("✓"):
        assert final["shown"] == len(sent.encode("utf-16-le")) // 2, "the page never showed the whole reply"
        assert "tok/s" in final["status"], final["status"]
    assert final["markdown"], "the reply is not rendered as Markdown"
    if not final["status"].startswith("■"):
        notebook.wait(sync_cell, before)
    notebook.cell(sync_cell).scroll_into_view_if_needed()
    page.screenshot(path=str(artifacts / "streaming-stream_to_output.png"))

    # --- the async cell: Stop after ~2 s ends the stream within 1 s and keeps the text -----------
    notebook.run_range(sync_cell + 1, stop_cell)
    first_exchange = len(practice.app.exchanges)
    before = notebook.start(stop_cell)
    stop = notebook.cell(stop_cell).get_by_role("button", name="Stop")
    expect(stop).to_be_enabled(timeout=30_000)
    stream_view.wait_for(page, stop_cell, "v.shown > 0", 30_000)
    page.wait_for_timeout(2000)  # the brief: a reader clicks Stop after about two seconds
    assert not stream_view.view(page, stop_cell)["status"].startswith(ENDED), "the stream ended before Stop"
    status = notebook.cell(stop_cell).locator(".helpers-status").first
    page.evaluate("([button, status]) => streamView.timeStop(button, status)",
                  [stop.element_handle(), status.element_handle()])
    disconnects = practice.app.state.stats.client_disconnects
    shown_before = stream_view.view(page, stop_cell)["shown"]
    stop.click()
    ended = stream_view.wait_for_status(page, stop_cell, "■ stopped", timeout=10_000)
    timing = page.evaluate("streamView.stopTiming()")
    stopped_ms = timing["stopped"] - timing["clicked"]
    report(f"{NOTEBOOK} cell {stop_cell}: Stop -> {ended!r} in {stopped_ms:.0f} ms")
    assert stopped_ms < 1000, f"the stream took {stopped_ms:.0f} ms to stop"
    notebook.wait(stop_cell, before, timeout=10_000)

    shown = stream_view.view(page, stop_cell)
    exchanges = practice.app.exchanges[first_exchange:]
    assert len(exchanges) == 1, f"expected one chat completion from cell {stop_cell}, got {len(exchanges)}"
    assert shown["text"].strip() and shown["shown"] >= shown_before, "the partial text went away"
    wait_until(lambda: practice.app.state.stats.client_disconnects > disconnects, 5,
               "the practice server never saw the client go away")
    wait_until(lambda: practice.app.state.stats.active_streams == 0, 5, "a stream is still running on the server")
    notebook.cell(stop_cell).scroll_into_view_if_needed()  # the final screenshot (the page fixture's) shows it
    assert not page.console_errors, page.console_errors
