"""The stream view renders the reply as Markdown while it streams: headings, list items, code blocks (with
syntax highlighting) and tables show before the stream ends, prose wraps between words in the notebook's
text font, code keeps its lines and scrolls sideways, and the final render is what rendering the whole
text at once gives. Also: the thinking area, and an interrupt during Run All.

The practice server runs at 30 tokens per second; "show me some markdown" is a 2,000-token reply with all
of these (helpers/server/markdown_tour.py), so it takes about 66 s: the test reads it until the end.
"""

from __future__ import annotations

import pytest

from helpers.server import replies
from tests.browser import stream_view

MARKDOWN = "show me some markdown"
REPLY = replies.reply_text([{"role": "user", "content": MARKDOWN}])


@pytest.mark.timeout(240)
def test_markdown_renders_while_it_streams(lab, open_notebook, page, report):
    stream_view.install(page)
    name = stream_view.write_notebook(
        lab.root / "browser-markdown.ipynb",
        "import helpers",
        f"r = helpers.stream_to_output({MARKDOWN!r})",
        "from IPython.display import Markdown\nMarkdown(r.text)",  # the whole text rendered at once
    )
    notebook = open_notebook(name)
    notebook.run(0)
    page.evaluate("streamView.watch(1)")
    notebook.run(1, timeout=150_000)
    watched = page.evaluate("streamView.watched(1)")
    final = stream_view.view(page, 1)

    assert final["status"].startswith("✓"), final["status"]
    assert final["markdown"], "the reply was not rendered as Markdown"
    assert final["shown"] == len(REPLY.encode("utf-16-le")) // 2, "the view does not show the whole reply"
    ended = watched["ended"]
    assert ended, "the status never said the stream ended"
    early = {name: round((ended - at) / 1000, 1) for name, at in watched["first"].items()}
    report(f"Markdown while streaming: first seen this many seconds before the end: {early}")
    for element in ("heading", "listItem", "codeBlock", "table", "highlighted"):
        assert element in watched["first"], f"no {element} was rendered at all"
        assert watched["first"][element] < ended - 1000, f"the first {element} showed only at the end"

    broken = page.evaluate("streamView.brokenWords(1)")
    assert broken == [], f"words split across lines: {broken[:10]}"
    layout = page.evaluate("streamView.layout(1)")
    assert set(layout["codeWhiteSpace"]) == {"pre"}, layout
    assert set(layout["codeOverflowX"]) <= {"auto", "scroll"}, layout
    assert layout["codeScrolls"], "no code block is wider than the view: the long lines were wrapped"
    assert layout["proseFont"] != layout["codeFont"], layout
    assert layout["contentFont"].split(",")[0].strip() in layout["proseFont"], layout

    notebook.run(2)
    whole = page.evaluate("([index, inView]) => streamView.renderedHtml(index, inView)", [2, False])
    streamed = page.evaluate("([index, inView]) => streamView.renderedHtml(index, inView)", [1, True])
    assert whole and streamed == whole, "the streamed render differs from rendering the whole text at once"
    notebook.cell(1).scroll_into_view_if_needed()
    assert not page.console_errors, page.console_errors


@pytest.mark.timeout(180)
def test_thinking_shows_live_then_folds_away(lab, open_notebook, page, report):
    stream_view.install(page)
    name = stream_view.write_notebook(
        lab.root / "browser-thinking.ipynb",
        "import helpers",
        "r = helpers.stream_to_output('write a haiku', model='practice-thinking')",
    )
    notebook = open_notebook(name)
    notebook.run(0)
    page.evaluate("streamView.watch(1)")
    before = notebook.start(1)
    thinking = stream_view.wait_for(
        page, 1, "v.phase === 'thinking' && v.thinking.text.length > 20 && v.status.includes('thinking')", 30_000)
    assert thinking["thinking"]["visible"] and thinking["thinking"]["open"], thinking["thinking"]
    assert thinking["thinking"]["label"].startswith("Thinking"), thinking["thinking"]["label"]
    assert "thinking" in thinking["status"], thinking["status"]
    answering = stream_view.wait_for(page, 1, "v.phase === 'answering' && v.text.length > 0", 60_000)
    assert not answering["thinking"]["open"], "the thinking did not fold away when the answer started"
    notebook.wait(1, before)
    final = stream_view.view(page, 1)
    haiku = replies.reply_text([{"role": "user", "content": "write a haiku"}])
    assert final["status"].startswith("✓") and final["thinking"]["visible"] and not final["thinking"]["open"]
    assert " ".join(final["text"].split()) == " ".join(haiku.split()), final["text"]
    report(f"thinking area: {thinking['thinking']['label']!r} while thinking, {final['thinking']['label']!r} after")
    assert not page.console_errors, page.console_errors


@pytest.mark.timeout(180)
def test_an_interrupt_during_run_all_keeps_the_text_and_stops_the_queue(lab, open_notebook, page):
    stream_view.install(page)
    name = stream_view.write_notebook(
        lab.root / "browser-interrupt.ipynb",
        "import helpers",
        "r = helpers.stream_to_output('tell me a long story')",
        "print('the next cell ran')",
    )
    notebook = open_notebook(name)
    notebook.select(0)
    page.locator(".lm-MenuBar-item", has_text="Run").click()
    page.locator(".lm-Menu-item", has_text="Run All Cells").first.click()
    stream_view.wait_for(page, 1, "v.shown > 40", 30_000)
    notebook.interrupt_kernel()
    stream_view.wait_for_status(page, 1, "■ stopped", timeout=10_000)
    page.wait_for_timeout(1500)  # the queued cell would have run by now
    shown = stream_view.view(page, 1)
    assert shown["shown"] > 40 and shown["text"].strip(), "the partial text went away"
    assert shown["phase"] == "stopped", shown["phase"]
    states = notebook.states()
    assert states[2][0] is None, f"the queued cell ran after the interrupt: {states}"
    assert "the next cell ran" not in (notebook.cell(2).locator(".jp-Cell-outputArea").text_content() or "")
