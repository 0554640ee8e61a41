"""Thinking sent inline, as ``<think>…</think>`` at the start of the content (a server run without a
reasoning parser). The tags can be split across chunks (``<th`` + ``ink>``), so text that might be the start
of a tag is held back until the next piece says what it is.

DeepSeek-R1's chat template writes the opening ``<think>`` into the prompt, so its replies often carry only the
closing tag: when ``</think>`` arrives with no opening one, everything before it was thinking after all.
"""

from __future__ import annotations

OPEN, CLOSE = "<think>", "</think>"


class ThinkTags:
    """Splits content into (thinking, answer) as it streams."""

    def __init__(self) -> None:
        self.state = "start"  # start -> thinking -> answer, or start -> answer
        self.held = ""
        self.saw_open = False
        self.thinking_began = False

    def split(self, text: str) -> tuple[str, str, bool]:
        """(thinking, answer, moved): ``moved`` says the answer so far was thinking (a lone closing tag)."""
        if self.state == "answer" and not self.held and (self.saw_open or "<" not in text):
            return "", text, False  # the common case, on every chunk of an answer: nothing to look for
        text = self.held + text
        self.held = ""
        if self.state == "start":
            stripped = text.lstrip()
            if stripped.startswith(OPEN):
                self.state, self.saw_open = "thinking", True
                text = stripped[len(OPEN):]
                self.thinking_began = False
            elif OPEN.startswith(stripped):  # "", "<", "<th"...: wait for more
                self.held = text
                return "", "", False
            else:
                self.state = "answer"
        if self.state == "thinking":
            return self._thinking(text)
        return self._answer(text)

    def _thinking(self, text: str) -> tuple[str, str, bool]:
        if not self.thinking_began:  # the line break after <think> is not part of the thinking
            text = text.lstrip()
            self.thinking_began = bool(text)
        if CLOSE in text:
            thinking, answer = text.split(CLOSE, 1)
            answer = answer.lstrip()
            self.state = "answer" if answer else "after-close"
            return thinking, answer, False
        keep = _partial_suffix(text, CLOSE)
        self.held = text[len(text) - keep:] if keep else ""
        return text[: len(text) - keep], "", False

    def _answer(self, text: str) -> tuple[str, str, bool]:
        if self.state == "after-close":  # the blank lines after </think> are not part of the answer
            text = text.lstrip()
            if not text:
                return "", "", False
            self.state = "answer"
        if not self.saw_open and CLOSE in text:
            thinking, answer = text.split(CLOSE, 1)
            self.saw_open = True  # only once
            answer = answer.lstrip()
            self.state = "answer" if answer else "after-close"
            return thinking, answer, True
        if not self.saw_open:
            keep = _partial_suffix(text, CLOSE)
            self.held = text[len(text) - keep:] if keep else ""
            return "", text[: len(text) - keep], False
        return "", text, False

    def flush(self) -> str:
        """At the end: what was held back is plain text after all."""
        held, self.held = self.held, ""
        if self.state == "thinking":
            return ""  # an unclosed <think>: the held text is thinking, dropped with the tag fragment
        self.state = "answer"
        self.saw_open = True
        return held


def _partial_suffix(text: str, tag: str) -> int:
    """How many characters at the end of ``text`` could be the start of ``tag``."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0
