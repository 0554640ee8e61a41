"""`make test-handouts`: the handouts (tools/handouts.py and its handout_*.py) show what the notebooks
streamed, offline.

Builds the real notebooks' handouts, and those of a small sample course executed here (so the
widget paths are covered whatever notebooks exist), into temporary folders, then checks:

* each page holds its notebook's streamed text: the outputs stored in the Output widgets' state;
* each page opens in Debian's Chromium with no console error, no page error, and no request to
  anything but file:/data: (every other request is blocked and recorded);
* links between notebooks point to pages that exist; the PDF is a PDF with a page per notebook.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
from bs4 import BeautifulSoup
from nbconvert.filters.markdown_mistune import markdown2html_mistune
from nbformat.v4 import new_code_cell, new_markdown_cell

from tests.support import ROOT, python_notebook
from tools import chromium, handouts
from tools.handout_widgets import RENDERERS, WIDGET_STATE, WIDGET_VIEW, WidgetViews
from tools.run_notebooks import run_notebook

NOTEBOOKS = ROOT / "notebooks"
TREE_LINE = "Rooted deep where the quiet waters run"
ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
REAL = sorted(NOTEBOOKS.glob(handouts.NOTEBOOK_GLOB))


# --- what a page must show -------------------------------------------------------------------


def normalize(text: str) -> str:
    return " ".join(ANSI.sub("", text).split())


def shown_models(nb) -> set[str]:
    """The widget models that displayed views reach (children, outputs...), from the stored state."""
    models = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    todo = [o["data"][WIDGET_VIEW]["model_id"] for c in nb.cells for o in c.get("outputs", [])
            if WIDGET_VIEW in o.get("data", {})]
    seen: set[str] = set()
    while todo:
        model_id = todo.pop()
        if model_id in seen or model_id not in models:
            continue
        seen.add(model_id)
        for value in models[model_id]["state"].values():
            refs = value if isinstance(value, list) else [value]
            todo += [r[len("IPY_MODEL_"):] for r in refs if isinstance(r, str) and r.startswith("IPY_MODEL_")]
    return seen


def streamed_lines(nb) -> list[str]:
    """Every line of text stored in the Output widgets that the notebook displays."""
    models = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    texts = []
    for model_id in shown_models(nb):
        model = models[model_id]
        if model["model_name"] != "OutputModel":
            continue
        for output in model["state"].get("outputs", []):
            data = output.get("data", {})
            if output["output_type"] == "stream":
                texts.append(output["text"])
            elif "text/markdown" in data:
                texts.append(BeautifulSoup(markdown2html_mistune(data["text/markdown"]), "html.parser").get_text("\n"))
            elif "text/html" in data:
                texts.append(BeautifulSoup(data["text/html"], "html.parser").get_text("\n"))
            elif "text/plain" in data:
                texts.append(data["text/plain"])
    return [line for text in texts for line in map(normalize, text.splitlines()) if line.strip("¶ ")]


def views_without_state(nb) -> int:
    models = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    return sum(1 for c in nb.cells for o in c.get("outputs", [])
               if WIDGET_VIEW in o.get("data", {}) and o["data"][WIDGET_VIEW]["model_id"] not in models)


# --- fixtures -------------------------------------------------------------------------------


def open_offline(browser, page_path: Path) -> tuple[str, list[str]]:
    """Open a page with everything but file:/data: blocked; return (visible text, problems)."""
    problems: list[str] = []
    blocked: list[str] = []
    context = browser.new_context()
    try:
        page = context.new_page()
        page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("requestfailed", lambda r: problems.append(f"failed request: {r.url}")
                if not r.url.startswith(chromium.LOCAL_SCHEMES) else None)
        chromium.block_network(context, blocked)
        page.goto(page_path.as_uri(), wait_until="load")
        page.wait_for_timeout(200)  # a late script error or request would show up by now
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        text = page.inner_text("body")
    finally:
        context.close()
    problems += [f"request to {url}" for url in blocked]
    return normalize(text), sorted(set(problems))


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """The real notebooks' handouts."""
    if not REAL:
        pytest.skip(f"no notebooks {handouts.NOTEBOOK_GLOB} in {NOTEBOOKS} yet")
    return handouts.build(NOTEBOOKS, tmp_path_factory.mktemp("handouts"))


def _sample_notebooks(folder: Path) -> None:
    first = python_notebook(
        new_markdown_cell("# First steps\n\n< [Contents](../README.md) | [Next](02-streams.ipynb) >"),
        new_code_cell("print('hello')"),
        new_markdown_cell("See [the streams, Stop button](02-streams.ipynb#Stop-button).\n\n"
                          "< [Contents](../README.md) | [Next](02-streams.ipynb) >"),
    )
    solution = new_code_cell("# Solution\nimport helpers\nsolved = await helpers.astream_to_output('write a haiku')")
    solution.metadata = {"jupyter": {"source_hidden": True}, "tags": ["solution"]}
    second = python_notebook(
        new_markdown_cell("# Streams\n\n< [Previous](01-first.ipynb) | [Contents](../README.md) >"),
        new_code_cell("import helpers\nresult = helpers.stream_to_output('write a poem about a tree', title='A tree')"),
        new_markdown_cell("## Stop button"),
        new_code_cell("again = await helpers.astream_to_output('tell me a long story', max_tokens=30, markdown=True)"),
        new_code_cell("both = await helpers.side_by_side([dict(prompt='write a haiku', title='Haiku'),\n"
                      "    dict(prompt='count to 12', title='Count')])"),
        new_markdown_cell("## Exercises\n\nStream a haiku."),
        solution,
    )
    nbformat.write(first, folder / "01-first.ipynb")
    nbformat.write(second, folder / "02-streams.ipynb")
    for path in sorted(folder.glob("*.ipynb")):  # as `make notebooks` does
        run_notebook(path, timeout=60)


@pytest.fixture(scope="module")
def sample(tmp_path_factory, practice_server):
    """A two-notebook course run here against the session's practice server (its kernels are told where)."""
    folder = tmp_path_factory.mktemp("sample-notebooks")
    with pytest.MonkeyPatch.context() as env:  # module-scoped: before any per-test settings apply
        env.setenv("OPENAI_BASE_URL", practice_server.base_url)
        env.setenv("OPENAI_API_KEY", "not-needed")
        env.setenv("OPENAI_MODEL", "practice")
        _sample_notebooks(folder)
    return handouts.build(folder, tmp_path_factory.mktemp("sample-handouts"))


# --- the real notebooks ---------------------------------------------------------------------


def test_every_notebook_has_a_page_listed_in_the_index(course):
    assert [h.page.name for h in course.handouts] == [f"{p.stem}.html" for p in REAL]
    index = course.index.read_text(encoding="utf-8")
    for handout in course.handouts:
        assert f'href="{handout.page.name}"' in index
        assert handout.page.stat().st_size > 0


@pytest.mark.parametrize("notebook", REAL, ids=[p.stem for p in REAL])
def test_page_shows_the_streamed_text_offline(course, browser, notebook):
    nb = nbformat.read(notebook, as_version=4)
    assert views_without_state(nb) == 0, (
        f"{notebook.name} has widget views whose state is not stored: run `make notebooks`")
    text, problems = open_offline(browser, course.handouts[REAL.index(notebook)].page)
    assert problems == []
    missing = [line for line in streamed_lines(nb) if line not in text]
    assert missing == [], f"{notebook.name}: streamed text missing from its page: {missing[:5]}"


def test_streaming_page_shows_the_tree_poem(course):
    pages = [h.page for h in course.handouts if h.page.name.startswith("04-")]
    if not pages:
        pytest.skip("no 04-*.ipynb yet")
    nb = nbformat.read(NOTEBOOKS / f"{pages[0].stem}.ipynb", as_version=4)
    if not any(TREE_LINE in line for line in streamed_lines(nb)):
        pytest.skip(f"{pages[0].stem} streams no tree poem into a widget")
    page = BeautifulSoup(pages[0].read_text(encoding="utf-8"), "html.parser")
    assert TREE_LINE in page.get_text()


def test_index_and_course_page_open_offline(course, browser):
    for page in (course.index, course.course_html):
        _text, problems = open_offline(browser, page)
        assert problems == [], page.name


def test_pages_load_nothing_from_elsewhere(course):
    for page in [h.page for h in course.handouts] + [course.index, course.course_html]:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        assert soup.select("script[src], link[href], iframe, img[src^=http]") == [], page.name


def test_links_between_pages_resolve(course):
    assert not [w for w in course.warnings if "link" in w], course.warnings
    out = course.index.parent
    for page in [h.page for h in course.handouts] + [course.index]:
        soup = BeautifulSoup(page.read_text(encoding="utf-8"), "html.parser")
        for link in soup.find_all("a", href=True):
            href = link["href"]
            assert ".ipynb" not in href, f"{page.name}: {href}"
            target = href.split("#")[0]
            if target and ":" not in target:
                assert (out / target).is_file(), f"{page.name}: link to missing {href}"
    course_soup = BeautifulSoup(course.course_html.read_text(encoding="utf-8"), "html.parser")
    ids = {element["id"] for element in course_soup.find_all(id=True)}
    for link in course_soup.find_all("a", href=True):
        if link["href"].startswith("#"):
            assert link["href"][1:] in ids, f"course.html: dangling {link['href']}"
        else:
            assert ":" in link["href"], f"course.html: link out of the document: {link['href']}"


def test_pdf_has_a_page_per_notebook(course):
    assert course.pdf is not None and course.pdf.is_file()
    data = course.pdf.read_bytes()
    assert data.startswith(b"%PDF-")
    assert course.blocked_requests == []
    assert chromium.count_pdf_pages(course.pdf) >= len(course.handouts) + 1  # + the contents page


# --- a sample course, run here: the widget paths whatever notebooks exist -------------------


def test_sample_pages_show_every_widget_stream(sample, browser):
    assert not sample.warnings, sample.warnings
    for handout in sample.handouts:
        nb = nbformat.read(handout.notebook, as_version=4)
        text, problems = open_offline(browser, handout.page)
        assert problems == [], handout.page.name
        lines = streamed_lines(nb)
        assert [line for line in lines if line not in text] == [], handout.page.name
    streams = sample.handouts[1]
    lines = streamed_lines(nbformat.read(streams.notebook, as_version=4))
    assert any(TREE_LINE in line for line in lines)
    assert "Green leaves catch the light," in lines  # side_by_side's first column, and the solution
    assert any(re.search(r"\b12\b", line) for line in lines)  # count to 12
    html = streams.page.read_text(encoding="utf-8")
    assert "The Lighthouse Keeper" in html  # the markdown=True view: rendered Markdown from the state
    assert WIDGET_VIEW not in html  # no widget view left for a (missing) widget manager to render


def test_sample_solutions_are_folded_on_pages_and_open_on_paper(sample):
    page = BeautifulSoup(sample.handouts[1].page.read_text(encoding="utf-8"), "html.parser")
    folded = page.select("details.handout-hidden")
    assert len(folded) == 1 and "open" not in folded[0].attrs
    assert "# Solution" in folded[0].get_text() and "Green leaves catch the light" in folded[0].get_text()
    course = BeautifulSoup(sample.course_html.read_text(encoding="utf-8"), "html.parser")
    assert all("open" in details.attrs for details in course.select("details.handout-hidden"))


def test_sample_links_point_to_pages(sample):
    first = BeautifulSoup(sample.handouts[0].page.read_text(encoding="utf-8"), "html.parser")
    hrefs = [a["href"] for a in first.find_all("a", href=True) if not a["href"].startswith("#")]
    assert hrefs == ["index.html", "02-streams.html", "02-streams.html#Stop-button", "index.html", "02-streams.html"]
    course = BeautifulSoup(sample.course_html.read_text(encoding="utf-8"), "html.parser")
    assert course.find(id="02-streams--Stop-button") is not None
    assert course.find(id="01-first").select_one('a[href="#02-streams--Stop-button"]') is not None


def test_sample_pdf(sample):
    assert sample.pdf.read_bytes().startswith(b"%PDF-")
    assert sample.blocked_requests == []
    assert chromium.count_pdf_pages(sample.pdf) >= 3


def test_the_offline_check_sees_requests_and_errors(browser, tmp_path):
    """The harness itself: a page that reaches out, or fails, does not pass as offline and clean."""
    page = tmp_path / "bad.html"
    page.write_text('<html><body><p>text</p><img src="https://cdn.example.invalid/x.png">'
                    '<script>console.error("boom"); undefinedFunction();</script></body></html>')
    text, problems = open_offline(browser, page)
    assert text == "text"
    assert any(p.startswith("request to https://cdn.example.invalid/") for p in problems)
    assert "console error: boom" in problems
    assert any(p.startswith("page error:") and "undefinedFunction" in p for p in problems)


# --- widget renderers: a registry that one more model joins in a few lines -----------------


def live_state() -> dict:
    """The widget state of the widgets alive in this process, as a notebook stores it."""
    import ipywidgets as widgets

    return widgets.Widget.get_manager_state(drop_defaults=False)


def test_a_widget_with_no_renderer_is_drawn_generically_and_reported():
    import ipywidgets as widgets

    slider = widgets.IntSlider(value=7, description="Tokens")
    box = widgets.Accordion(children=[widgets.Label("inside")])
    views = WidgetViews(live_state())
    drawn = BeautifulSoup(views.render(slider.model_id) + views.render(box.model_id), "html.parser").get_text(" ")
    assert normalize(drawn) == "Tokens 7 inside"
    assert views.generic == {"IntSliderModel", "AccordionModel"}


def test_one_more_model_joins_the_registry_in_a_few_lines(monkeypatch):
    import ipywidgets as widgets

    monkeypatch.setitem(RENDERERS, "IntSliderModel", lambda widget: widget.wrap("meter", str(widget.state["value"])))
    slider = widgets.IntSlider(value=7, layout=widgets.Layout(width="50%", height="9em"))
    views = WidgetViews(live_state())
    assert views.render(slider.model_id) == '<meter class="handout-widget" style="width: 50%">7</meter>'
    assert views.generic == set()


def test_hidden_widgets_are_not_drawn():
    import ipywidgets as widgets

    shown = widgets.HBox([widgets.Button(description="Stop", layout=widgets.Layout(display="none")),
                          widgets.HTML("<i>done</i>")])
    drawn = WidgetViews(live_state()).render(shown.model_id)
    assert "Stop" not in drawn and "<i>done</i>" in drawn


def test_every_widget_the_notebooks_store_has_a_renderer_of_its_own(course):
    assert [w for w in course.warnings if "generically" in w] == []
