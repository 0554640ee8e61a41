"""Helpers for the tutorial: settings, calls, streams, widget display and the practice server.

    import helpers
    helpers.ensure_server()                       # the practice server, started in this kernel if need be
    helpers.check()                               # is the server there, and what can it do?
    reply = helpers.complete("write a poem about a tree")
    result = helpers.stream_to_output("tell me a long story")
"""

from .chat import AsyncTextStream, Reply, StreamResult, TextStream, ToolCall, as_messages, astream, complete, stream
from .check import check, is_practice_server
from .config import PRESETS, ConfigError, Settings, async_client, client, settings
from .display import (ChatInput, StreamView, Throttle, astream_to_output, bubble, side_by_side, stream_to_output,
                      transcript)
from .errors import explain
from .practice import ensure_server

__all__ = [
    "PRESETS", "AsyncTextStream", "ChatInput", "ConfigError", "Reply", "Settings", "StreamResult", "StreamView",
    "TextStream", "ToolCall",
    "as_messages", "astream", "astream_to_output", "async_client", "bubble", "check", "client", "complete",
    "ensure_server", "explain", "is_practice_server", "settings", "side_by_side", "stream", "stream_to_output",
    "Throttle", "transcript",
]
