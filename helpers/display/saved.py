"""A stream view as a saved notebook keeps it: for tools that show a notebook without a kernel (handouts).

The text is where the view's transport put it (see widget.py): the capture Output's stdout (thinking:
stderr) in the widget state nbclient or JupyterLab saved, followed by the view's own ``text`` (custom
messages, as JupyterLab saves them, or the final text of a view that shared its cell).
"""

from __future__ import annotations

from dataclasses import dataclass, field

WIDGET_ID = "helpers.display.widget.StreamWidget"  # anywidget's _anywidget_id for StreamWidget
CHAT_INPUT_ID = "helpers.display.widget.ChatInput"


@dataclass
class SavedView:
    title: str = ""
    answer: str = ""
    thinking: str = ""
    tool_calls: list[dict] = field(default_factory=list)
    status: str = ""
    markdown: bool = True
    bubble: str = ""


def is_stream_view(state: dict) -> bool:
    return state.get("_anywidget_id") == WIDGET_ID


def saved_view(state: dict, models: dict) -> SavedView:
    """The view whose saved ``state`` this is; ``models`` maps model ids to saved models ({"state": ...})."""
    ref = state.get("capture") or ""
    capture = models.get(ref[len("IPY_MODEL_"):], {}).get("state", {}) if ref.startswith("IPY_MODEL_") else {}

    def streamed(name: str) -> str:
        return "".join(_text(o.get("text", "")) for o in capture.get("outputs", [])
                       if o.get("output_type") == "stream" and o.get("name") == name)

    return SavedView(
        title=state.get("title", ""),
        answer=streamed("stdout") + state.get("text", ""),
        thinking=streamed("stderr") + state.get("thinking", ""),
        tool_calls=list(state.get("tool_calls", [])),
        status=state.get("status", ""),
        markdown=bool(state.get("markdown", True)),
        bubble=state.get("bubble", ""),
    )


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)
