"""notebooks/08-chat-app.ipynb in JupyterLab: a reader types into the live chat app and it remembers.

The app is found by what a reader sees: the text box with the placeholder "Type a message and press
Send" and the "Send" button next to it, in whichever cell displays them. The practice server's
replies are deterministic, so the test knows what each answer must say.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from helpers.server import replies

NOTEBOOK = "08-chat-app.ipynb"
PLACEHOLDER = "Type a message and press Send"
TURNS = ["My name is Ada.", "What is my name?"]
REPLY_TIMEOUT = 30_000  # ms; a reply is about 15 tokens at 30 tokens per second


def expected_replies() -> list[str]:
    """What the practice server answers to TURNS, each sent with the conversation so far."""
    history, answers = [], []
    for message in TURNS:
        history.append({"role": "user", "content": message})
        answers.append(replies.reply_text(history))
        history.append({"role": "assistant", "content": answers[-1]})
    return answers


def normalized(text: str) -> str:
    return " ".join(text.split())


@pytest.mark.timeout(240)
def test_chat_app_remembers_a_name(open_notebook, practice, page, report):
    answers = expected_replies()
    assert "Ada" in answers[1], answers

    notebook = open_notebook(NOTEBOOK)
    notebook.run_all()  # the notebook drives the app from code too: it already holds a conversation
    box = page.get_by_placeholder(PLACEHOLDER).first
    expect(box).to_be_visible(timeout=30_000)
    app_cell = page.locator(".jp-Notebook .jp-Notebook-cell").filter(has=box)
    app = app_cell.locator(".jp-Cell-outputArea")
    send = app.get_by_role("button", name="Send", exact=True)
    for name in ("Stop", "Clear"):
        expect(app.get_by_role("button", name=name, exact=True)).to_have_count(1)

    for message, answer in zip(TURNS, answers):
        expect(send).to_be_enabled(timeout=REPLY_TIMEOUT)  # not still busy with the last answer
        seen = app.evaluate("(node, needle) => notebookTest.count(node, needle)", answer)
        first_exchange = len(practice.app.exchanges)
        box.fill(message)
        send.click()
        page.wait_for_function(
            "([node, needle, seen]) => notebookTest.count(node, needle) > seen",
            arg=[app.element_handle(), answer, seen], timeout=REPLY_TIMEOUT, polling=100,
        )
        exchanges = practice.app.exchanges[first_exchange:]
        assert len(exchanges) == 1, f"{message!r}: expected one chat completion, the server got {len(exchanges)}"
        assert exchanges[0].text == answer, f"{message!r}: the server answered {exchanges[0].text!r}"
        sent = [normalized(str(m.get("content"))) for m in exchanges[0].request.get("messages", [])]
        assert sent[-1] == normalized(message), f"the app sent {sent[-1]!r}, not what was typed"
        if message == TURNS[1]:
            assert normalized(TURNS[0]) in sent and normalized(answers[0]) in sent, (
                f"the second request did not carry the conversation: {sent}")
    expect(send).to_be_enabled(timeout=REPLY_TIMEOUT)

    shown = normalized(app.text_content())
    position = shown.rfind(normalized(TURNS[0]))
    for text in (answers[0], TURNS[1], answers[1]):  # in order, after the last "My name is Ada."
        position = shown.find(normalized(text), position + 1)
        assert position >= 0, f"{text!r} is not in the app, in order: {shown[-600:]!r}"
    report(f"{NOTEBOOK}: the app answered {answers[0]!r} then {answers[1]!r}")
    app_cell.scroll_into_view_if_needed()  # the final screenshot (the page fixture's) shows it
    assert not page.console_errors, page.console_errors
