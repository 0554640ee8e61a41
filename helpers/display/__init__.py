"""Showing a stream in the notebook: the reply rendered as Markdown while it arrives, a status line, Stop.

    view.py      StreamView (a notebook widget) and PlainView (a terminal): show a StreamResult, throttled
    widget.py    the widgets: StreamWidget (anywidget, rendered in the page), ChatInput, transcript();
                 why the text travels the way it does
    throttle.py  how often a view refreshes, and why
    run.py       stream_to_output (sync, interrupt to stop), astream_to_output (Stop button), side_by_side
"""

from .run import astream_to_output, side_by_side, stream_to_output
from .throttle import STATUS_PER_SECOND, TEXT_PER_SECOND, Throttle
from .view import PlainView, StreamView, has_front_end
from .widget import ChatInput, StreamWidget, bubble, transcript

__all__ = [
    "STATUS_PER_SECOND", "TEXT_PER_SECOND", "ChatInput", "PlainView", "StreamView", "StreamWidget", "Throttle",
    "astream_to_output", "bubble", "has_front_end", "side_by_side", "stream_to_output", "transcript",
]
