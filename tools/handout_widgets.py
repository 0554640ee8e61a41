"""Widgets on a handout: stored widget state -> static HTML, one small renderer per widget model.

The notebooks store their widget state (``tools/run_notebooks.py``); a page shows what each widget
showed when the notebook ran, as plain HTML: no script, prints as it looks, searchable. Renderers exist
for the models the notebooks store (boxes, Output, HTML, Label, Button, Textarea); any other model
gets a generic one (its description and value, or its children) and is reported, so a new widget
type shows up in ``make handouts``' warnings instead of vanishing. A new model joins in a few lines::

    @renders("AnyModel")                     # e.g. a custom (anywidget) view that shows Markdown
    def markdown_view(widget: Widget) -> str:
        return widget.wrap("div", markdown2html_mistune(widget.state.get("text", "")))
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from typing import Callable

from nbconvert.filters.ansi import ansi2html
from nbconvert.filters.markdown_mistune import markdown2html_mistune

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
MAX_DEPTH = 50
HIDDEN_SIZES = ("overflow", "overflow_x", "overflow_y", "height", "max_height")  # would hide text on paper

Renderer = Callable[["Widget"], str]
RENDERERS: dict[str, Renderer] = {}


def renders(*model_names: str) -> Callable[[Renderer], Renderer]:
    """Register a renderer for these widget models (``model_name`` in the stored state)."""
    def register(renderer: Renderer) -> Renderer:
        for name in model_names:
            RENDERERS[name] = renderer
        return renderer
    return register


@dataclass
class Widget:
    """One widget model from the stored state, with what a renderer needs."""

    name: str
    state: dict
    style: str  # CSS from its layout model, '' for none
    view: "WidgetViews"
    depth: int

    def wrap(self, tag: str, inner: str, kind: str = "") -> str:
        classes = f"handout-widget {kind}".strip()
        style = f' style="{html.escape(self.style)}"' if self.style else ""
        return f'<{tag} class="{classes}"{style}>{inner}</{tag}>'

    def children(self) -> list[str]:
        return [self.view.render(_model_id(ref), self.depth + 1) for ref in self.state.get("children", [])]

    def label(self) -> str:
        text = self.state.get("description") or ""
        if not text:
            return ""
        shown = text if self.state.get("description_allow_html") else html.escape(text)
        return f'<span class="handout-label">{shown} </span>'


class WidgetViews:
    """Static HTML for the widget views of one notebook, from its stored widget state."""

    def __init__(self, state: dict | None) -> None:
        self.models: dict[str, dict] = (state or {}).get("state", {})
        self.generic: set[str] = set()  # models drawn by the fallback: candidates for a renderer of their own

    def __contains__(self, model_id: str) -> bool:
        return model_id in self.models

    def render(self, model_id: str, depth: int = 0) -> str:
        model = self.models.get(model_id)
        if model is None or depth > MAX_DEPTH:
            return ""
        state = model.get("state", {})
        style = self._layout(state.get("layout"))
        if style is None:  # display: none / visibility: hidden
            return ""
        name = model.get("model_name", "")
        renderer = RENDERERS.get(name)
        if renderer is None:
            self.generic.add(name)
            renderer = generic
        return renderer(Widget(name, state, style, self, depth))

    def _layout(self, ref: str | None) -> str | None:
        """CSS from a LayoutModel, less sizes that would hide text on paper; None when hidden."""
        model = self.models.get(_model_id(ref)) if isinstance(ref, str) else None
        rules = []
        for key, value in (model or {}).get("state", {}).items():
            if key.startswith("_") or value in (None, "") or key in HIDDEN_SIZES:
                continue
            if (key, value) in (("display", "none"), ("visibility", "hidden")):
                return None
            rules.append(f"{key.replace('_', '-')}: {value}")
        return "; ".join(rules)


# --- the models the notebooks store ----------------------------------------------------------


@renders("VBoxModel", "BoxModel")
def vbox(widget: Widget) -> str:
    return widget.wrap("div", "".join(widget.children()), "handout-vbox")


@renders("HBoxModel")
def hbox(widget: Widget) -> str:
    return widget.wrap("div", "".join(widget.children()), "handout-hbox")


@renders("OutputModel")
def output(widget: Widget) -> str:
    return widget.wrap("div", render_outputs(widget.state.get("outputs", [])), "handout-output")


@renders("HTMLModel", "HTMLMathModel")
def html_widget(widget: Widget) -> str:
    return widget.wrap("div", widget.label() + str(widget.state.get("value", "")), "handout-html")


@renders("LabelModel")
def label(widget: Widget) -> str:
    return widget.wrap("span", html.escape(str(widget.state.get("value", ""))), "handout-label")


@renders("ButtonModel", "ToggleButtonModel")
def button(widget: Widget) -> str:
    kind = widget.state.get("button_style") or "default"
    text = html.escape(str(widget.state.get("description", "")))
    style = f' style="{html.escape(widget.style)}"' if widget.style else ""
    return f'<button class="handout-widget handout-button handout-button-{kind}" disabled{style}>{text}</button>'


@renders("TextareaModel", "TextModel")
def text_box(widget: Widget) -> str:
    value = html.escape(str(widget.state.get("value", "")))
    return widget.wrap("div", widget.label() + f'<pre class="handout-value">{value}</pre>', "handout-text")


def generic(widget: Widget) -> str:
    """Any other model: its label and value if it has them, else its children."""
    if "value" in widget.state:
        value = widget.state["value"]
        shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
        return widget.wrap("span", widget.label() + f'<span class="handout-value">{html.escape(shown)}</span>')
    return widget.wrap("div", widget.label() + "".join(widget.children()), "handout-vbox")


# --- outputs (an Output widget's) --------------------------------------------------------------


def render_outputs(outputs: list[dict]) -> str:
    """Static HTML for nbformat outputs, consecutive pieces of one stream joined."""
    merged: list[dict] = []
    for item in outputs:
        previous = merged[-1] if merged else {}
        if item.get("output_type") == "stream" == previous.get("output_type") and item.get("name") == previous.get("name"):
            merged[-1] = {**previous, "text": _text(previous["text"]) + _text(item.get("text", ""))}
        else:
            merged.append(item)
    parts = []
    for item in merged:
        kind = item.get("output_type")
        if kind == "stream":
            parts.append(f'<pre class="handout-{item.get("name", "stdout")}">{ansi2html(_text(item.get("text", "")))}</pre>')
        elif kind == "error":
            parts.append(f"<pre>{ansi2html(chr(10).join(item.get('traceback', [])))}</pre>")
        elif kind in ("display_data", "execute_result"):
            parts.append(render_bundle(item.get("data", {})))
    return "".join(parts)


def render_bundle(data: dict) -> str:
    """The richest of a display's representations that a static page can show."""
    if "text/html" in data:
        return _text(data["text/html"])
    if "text/markdown" in data:
        return markdown2html_mistune(_text(data["text/markdown"]))
    for mime in ("image/png", "image/jpeg", "image/gif"):
        if mime in data:
            return f'<img src="data:{mime};base64,{_text(data[mime]).strip()}">'
    if "text/plain" in data:
        return f"<pre>{ansi2html(_text(data['text/plain']))}</pre>"
    return ""


def _model_id(ref: str) -> str:
    return ref[len("IPY_MODEL_"):] if isinstance(ref, str) and ref.startswith("IPY_MODEL_") else ref


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)
