"""Widgets in a handout: static HTML rendered from a notebook's stored widget state.

``tools/run_notebooks.py`` stores the widget state (``application/vnd.jupyter.widget-state+json``) in each
notebook. Here an Output widget becomes its stored outputs (the streamed text), HTML widgets their value,
boxes flex rows/columns, buttons disabled buttons. nbconvert's own way, the @jupyter-widgets/html-manager
script, comes from a CDN, weighs 3.6 MB per page even when inlined, fetches fonts of its own, and renders
only after the page has loaded (a race for the PDF); static HTML shows the same text with no script at all,
prints as it looks, and can be searched and copied.
"""

from __future__ import annotations

import html

from nbconvert.filters.ansi import ansi2html
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbconvert.preprocessors import Preprocessor

WIDGET_STATE = "application/vnd.jupyter.widget-state+json"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"


class WidgetRenderer:
    """Static HTML for a widget view, from a notebook's stored widget state."""

    def __init__(self, state: dict) -> None:
        self.models = state.get("state", {}) if state else {}

    def __contains__(self, model_id: str) -> bool:
        return model_id in self.models

    def render(self, model_id: str, depth: int = 0) -> str:
        model = self.models.get(model_id)
        if model is None or depth > 50:
            return ""
        name = model.get("model_name", "")
        state = model.get("state", {})
        layout = self._layout(state.get("layout"))
        if layout is None:  # display: none / visibility: hidden
            return ""
        style = f' style="{html.escape(layout)}"' if layout else ""
        label = self._description(state)

        if name in ("VBoxModel", "BoxModel", "HBoxModel", "GridBoxModel", "AccordionModel", "TabModel", "StackModel"):
            kind = {"HBoxModel": "hbox", "GridBoxModel": "grid"}.get(name, "vbox")
            titles = state.get("titles") or []
            parts = []
            for index, child in enumerate(state.get("children", [])):
                if index < len(titles) and titles[index]:
                    parts.append(f"<b>{html.escape(str(titles[index]))}</b>")
                parts.append(self.render(_model_id(child), depth + 1))
            return f'<div class="handout-widget handout-{kind}"{style}>{"".join(parts)}</div>'
        if name == "OutputModel":
            return f'<div class="handout-widget handout-output"{style}>{render_outputs(state.get("outputs", []))}</div>'
        if name in ("HTMLModel", "HTMLMathModel"):
            return f'<div class="handout-widget handout-html"{style}>{label}{state.get("value", "")}</div>'
        if name == "LabelModel":
            return f'<span class="handout-widget handout-label"{style}>{html.escape(str(state.get("value", "")))}</span>'
        if name in ("ButtonModel", "ToggleButtonModel"):
            kind = state.get("button_style") or "default"
            text = html.escape(str(state.get("description", "")))
            return f'<button class="handout-widget handout-button handout-button-{kind}" disabled{style}>{text}</button>'
        if name == "ImageModel":
            data = self._buffer(model, "value")
            if data:
                fmt = html.escape(str(state.get("format", "png")))
                return f'<img class="handout-widget" src="data:image/{fmt};base64,{data}"{style}>'
            return ""
        if "_options_labels" in state and state.get("index") is not None:  # Dropdown, RadioButtons, ...
            index = state["index"]
            labels = state["_options_labels"]
            chosen = (", ".join(labels[i] for i in index) if isinstance(index, list)
                      else labels[index] if 0 <= index < len(labels) else "")
            return f'<span class="handout-widget"{style}>{label}<span class="handout-value">{html.escape(chosen)}</span></span>'
        if "value" in state:  # sliders, text boxes, checkboxes, progress bars...
            value = state["value"]
            shown = ", ".join(map(str, value)) if isinstance(value, list) else str(value)
            return f'<span class="handout-widget"{style}>{label}<span class="handout-value">{html.escape(shown)}</span></span>'
        if "children" in state:
            return "".join(self.render(_model_id(child), depth + 1) for child in state["children"])
        return ""

    def _layout(self, ref: str | None) -> str | None:
        """CSS from a LayoutModel, without sizes that would hide text on paper (heights, overflow)."""
        model = self.models.get(_model_id(ref)) if isinstance(ref, str) else None
        if model is None:
            return ""
        rules = []
        for key, value in model.get("state", {}).items():
            if key.startswith("_") or value in (None, ""):
                continue
            if key == "display" and value == "none" or key == "visibility" and value == "hidden":
                return None
            if key in ("overflow", "overflow_x", "overflow_y", "height", "max_height"):
                continue
            rules.append(f"{key.replace('_', '-')}: {value}")
        return "; ".join(rules)

    @staticmethod
    def _description(state: dict) -> str:
        text = state.get("description") or ""
        if not text:
            return ""
        shown = text if state.get("description_allow_html") else html.escape(text)
        return f'<span class="handout-label">{shown} </span>'

    @staticmethod
    def _buffer(model: dict, name: str) -> str | None:
        for buffer in model.get("buffers", []):
            if buffer.get("path") == [name] and buffer.get("encoding") == "base64":
                return buffer.get("data")
        return None


def _model_id(ref: str) -> str:
    return ref[len("IPY_MODEL_"):] if isinstance(ref, str) and ref.startswith("IPY_MODEL_") else ref


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)


def render_outputs(outputs: list[dict]) -> str:
    """Static HTML for a list of nbformat outputs (an Output widget's), consecutive streams merged."""
    parts: list[str] = []
    merged: list[dict] = []
    for output in outputs:
        if (output.get("output_type") == "stream" and merged and merged[-1].get("output_type") == "stream"
                and merged[-1].get("name") == output.get("name")):
            merged[-1] = {**merged[-1], "text": _text(merged[-1]["text"]) + _text(output.get("text", ""))}
        else:
            merged.append(output)
    for output in merged:
        kind = output.get("output_type")
        if kind == "stream":
            parts.append(f'<pre class="handout-{output.get("name", "stdout")}">{ansi2html(_text(output.get("text", "")))}</pre>')
        elif kind == "error":
            parts.append(f"<pre>{ansi2html(chr(10).join(output.get('traceback', [])))}</pre>")
        elif kind in ("display_data", "execute_result"):
            parts.append(render_bundle(output.get("data", {})))
    return "".join(parts)


def render_bundle(data: dict) -> str:
    if "text/html" in data:
        return _text(data["text/html"])
    if "text/markdown" in data:
        return markdown2html_mistune(_text(data["text/markdown"]))
    for mime in ("image/png", "image/jpeg", "image/gif"):
        if mime in data:
            return f'<img src="data:{mime};base64,{_text(data[mime]).strip()}">'
    if "image/svg+xml" in data:
        return _text(data["image/svg+xml"])
    if "text/plain" in data:
        return f"<pre>{ansi2html(_text(data['text/plain']))}</pre>"
    return ""


class StaticWidgetsPreprocessor(Preprocessor):
    """Replace every widget view output with static HTML rendered from the stored widget state,
    and tag cells whose source is hidden in JupyterLab (exercise solutions) for the page to fold."""

    def preprocess(self, nb, resources):
        renderer = WidgetRenderer(nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}))
        missing = 0
        for cell in nb.cells:
            jupyter = cell.get("metadata", {}).get("jupyter", {})
            tags = list(cell.get("metadata", {}).get("tags", []))
            if jupyter.get("source_hidden"):
                tags.append("handout_source_hidden")
            if jupyter.get("outputs_hidden"):
                tags.append("handout_outputs_hidden")
            if tags:
                cell.metadata["tags"] = tags
            for output in cell.get("outputs", []):
                view = output.get("data", {}).get(WIDGET_VIEW)
                if view is None:
                    continue
                data = {k: v for k, v in output.data.items() if k != WIDGET_VIEW}
                if view.get("model_id") in renderer:
                    data["text/html"] = renderer.render(view["model_id"])
                else:
                    missing += 1
                output.data = data
        if missing:
            resources.setdefault("handout_warnings", []).append(
                f"{missing} widget view(s) without stored state (run `make notebooks` to store it)")
        return nb, resources
