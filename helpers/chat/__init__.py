"""Calls, streams and what they deliver. Chunk (and event) parsing lives in this package and nowhere else:
``chunks.py`` reads Chat Completions, ``result.py`` holds what arrived, ``calls.py`` makes the requests."""

from .calls import AsyncTextStream, Prompt, Reply, TextStream, as_messages, astream, complete, stream
from .result import StreamResult, ToolCall

__all__ = ["AsyncTextStream", "Prompt", "Reply", "StreamResult", "TextStream", "ToolCall", "as_messages", "astream",
           "complete", "stream"]
