"""notebooks/08-chat-app.ipynb in the page: a reader types into the live chat app and it remembers.

The app is found by what a reader sees: the text box with the placeholder "Type a message" and its Send
button, in whichever cell displays them. Messages are bubbles (the user's and the assistant's told apart),
Enter sends and Shift+Enter starts a new line, the transcript follows the newest text unless the reader
scrolls up, Stop stops and Clear clears. The practice server's replies are deterministic, so the test
knows what each answer must say.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpers.server import replies

NOTEBOOK = "08-chat-app.ipynb"
PLACEHOLDER = "Type a message"
TURNS = ["My name is Ada.", "What is my name?"]
REPLY_TIMEOUT = 30_000  # ms; a reply is about 15 tokens at 30 tokens per second
AT_BOTTOM_PX = 30

# In the page: the app's transcript (the scrolling column of bubbles) and what it shows.
TRANSCRIPT_JS = """(app) => {
    const box = app.querySelector('.helpers-follow');
    const bubbles = Array.from(box.querySelectorAll('.helpers-stream'));
    return {
        bubbles: bubbles.map(b => ({role: b.dataset.bubble, text: b.querySelector('.helpers-answer').textContent,
                                    status: b.querySelector('.helpers-status').textContent,
                                    left: b.getBoundingClientRect().left, right: b.getBoundingClientRect().right})),
        fromBottom: box.scrollHeight - box.scrollTop - box.clientHeight,
        scrollTop: box.scrollTop,
        scrolls: box.scrollHeight > box.clientHeight,
    };
}"""


def expected_replies() -> list[str]:
    """What the practice server answers to TURNS, each sent with the conversation so far."""
    history, answers = [{"role": "system", "content": "x"}], []
    for message in TURNS:
        history.append({"role": "user", "content": message})
        answers.append(replies.reply_text(history))
        history.append({"role": "assistant", "content": answers[-1]})
    return answers


def normalized(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.timeout(300)
def test_chat_app(open_notebook, practice, page, report):
    answers = expected_replies()
    assert "Ada" in answers[1], answers

    notebook = open_notebook(NOTEBOOK)
    notebook.run_all()  # the notebook drives the app from code too: it already holds a conversation
    box = page.get_by_placeholder(PLACEHOLDER).first
    expect(box).to_be_visible(timeout=30_000)
    app_cell = page.locator(".jp-Notebook .jp-Notebook-cell").filter(has=box)
    app = app_cell.locator(".jp-Cell-outputArea").first
    send = app.get_by_role("button", name="Send", exact=True)
    stop = app.locator("button.jupyter-button:not(.helpers-stop)", has_text="Stop")  # the app's, not a bubble's
    clear = app.get_by_role("button", name="Clear", exact=True)

    clear.click()
    page.wait_for_function("(app) => !app.querySelector('.helpers-follow .helpers-stream')", arg=app.element_handle())

    # --- Enter sends; the conversation shows as bubbles, and the app remembers ------------------
    for message, answer in zip(TURNS, answers):
        expect(send).to_be_enabled(timeout=REPLY_TIMEOUT)
        first_exchange = len(practice.app.exchanges)
        box.fill(message)
        box.press("Enter")
        page.wait_for_function(
            """([app, answer]) => { const b = Array.from(app.querySelectorAll('.helpers-stream[data-bubble="assistant"]')).pop();
                return !!b && b.dataset.phase === 'done'
                    && b.querySelector('.helpers-answer').textContent.split(/\\s+/).join(' ').includes(answer); }""",
            arg=[app.element_handle(), normalized(answer)], timeout=REPLY_TIMEOUT, polling=100,
        )
        assert box.input_value() == "", "the box still holds the sent message"
        exchanges = practice.app.exchanges[first_exchange:]
        assert len(exchanges) == 1, f"{message!r}: expected one chat completion, the server got {len(exchanges)}"
        sent = [normalized(str(m.get("content"))) for m in exchanges[0].request.get("messages", [])]
        assert sent[-1] == normalized(message), f"the app sent {sent[-1]!r}, not what was typed"
    assert normalized(TURNS[0]) in sent and normalized(answers[0]) in sent, "the second turn lost the first"
    shown = app.evaluate(TRANSCRIPT_JS)
    roles = [b["role"] for b in shown["bubbles"]]
    assert roles == ["user", "assistant", "user", "assistant"], roles
    assert [normalized(b["text"]) for b in shown["bubbles"]] == [normalized(t) for t in
                                                                (TURNS[0], answers[0], TURNS[1], answers[1])]
    user, assistant = shown["bubbles"][0], shown["bubbles"][1]
    assert user["right"] > assistant["right"] and user["left"] > assistant["left"], "user and assistant look alike"

    # --- Shift+Enter starts a new line, and sends nothing -----------------------------------------
    requests = len(practice.app.exchanges)
    box.fill("")
    box.type("first line")
    box.press("Shift+Enter")
    box.type("second line")
    assert box.input_value() == "first line\nsecond line", repr(box.input_value())
    assert len(practice.app.exchanges) == requests, "Shift+Enter sent the message"

    # --- a long Markdown reply: the transcript follows it, until the reader scrolls up ----------
    box.fill("show me some markdown")
    box.press("Enter")
    page.wait_for_function("(app) => { const box = app.querySelector('.helpers-follow');"
                           " return box.scrollHeight > box.clientHeight + 200; }",
                           arg=app.element_handle(), timeout=REPLY_TIMEOUT)
    page.wait_for_timeout(1000)
    following = app.evaluate(TRANSCRIPT_JS)
    assert following["fromBottom"] <= AT_BOTTOM_PX, f"the transcript did not follow the new text: {following}"
    app.evaluate("(app) => { const box = app.querySelector('.helpers-follow'); box.scrollTop = 0;"
                 " box.dispatchEvent(new Event('scroll')); }")
    page.wait_for_timeout(1500)  # more text arrives meanwhile
    reading = app.evaluate(TRANSCRIPT_JS)
    assert reading["scrollTop"] == 0, f"the transcript scrolled away from where the reader was: {reading}"

    # --- Stop ends the reply and keeps its text; Clear forgets it -------------------------------
    expect(stop).to_be_enabled()
    stop.click()
    page.wait_for_function(
        "(app) => { const b = Array.from(app.querySelectorAll('.helpers-stream[data-bubble=\"assistant\"]')).pop();"
        " return b.dataset.phase === 'stopped'; }", arg=app.element_handle(), timeout=5_000)
    stopped = app.evaluate(TRANSCRIPT_JS)["bubbles"][-1]
    assert stopped["status"].startswith("■ stopped") and stopped["text"].strip(), stopped
    expect(send).to_be_enabled(timeout=5_000)
    clear.click()
    page.wait_for_function("(app) => !app.querySelector('.helpers-follow .helpers-stream')", arg=app.element_handle())

    report(f"{NOTEBOOK}: the app answered {answers[0]!r} then {answers[1]!r}; followed, held still, stopped, cleared")
    app_cell.scroll_into_view_if_needed()  # the final screenshot (the page fixture's) shows it
    assert not page.console_errors, page.console_errors
