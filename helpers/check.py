"""Is the server there, and does it work? A short report, with a one-line fix when it does not."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

import openai
from openai.types import Model

from . import chat, config
from .defaults import PRACTICE_OWNER
from .errors import explain

BUDGET = 400  # tokens for check's tiny requests: room for a thinking model to think, then say OK


@dataclass
class Report:
    settings: config.Settings
    lines: list[str] = field(default_factory=list)
    ok: bool = True
    fix: str | None = None
    models: list[str] = field(default_factory=list)
    usage_chunk: bool | None = None
    practice: bool = False
    thinks: bool = False  # a thinking (reasoning) model
    responses_api: bool | None = None  # whether POST /responses works too

    def line(self, passed: bool | None, text: str) -> None:
        mark = {True: "✓", False: "✗", None: "·"}[passed]
        self.lines.append(f"{mark} {text}")

    def fail(self, what: str, error: BaseException) -> "Report":
        self.ok = False
        self.fix = explain(error, self.settings.api_key)
        self.line(False, f"{what}: failed")
        return self

    def __str__(self) -> str:
        head = f"Server {self.settings.base_url} · model {self.settings.model} · key {config.mask(self.settings.api_key)}"
        warnings = [f"! {w}" for w in self.settings.warnings]
        verdict = ["All good: the notebooks will work with these settings."] if self.ok else [f"✗ {self.fix}"]
        return "\n".join([head, *warnings, *self.lines, *verdict])

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self))


def is_practice_server(settings: config.Settings | None = None) -> bool:
    """True when the server at the base URL is the practice server (its models are owned by "practice-server")."""
    client = config.client(settings or config.settings(), timeout=5, max_retries=0)
    try:
        return _practice_models(client.models.list())
    except openai.APIError:
        return False


def _practice_models(models: Iterable[Model]) -> bool:
    return any(model.owned_by == PRACTICE_OWNER for model in models)


def check(settings: config.Settings | None = None, *, show: bool = True) -> Report:
    """List models, make one tiny completion and one tiny stream, and say what works."""
    settings = settings or config.settings()
    report = Report(settings)
    client = config.client(settings, timeout=30, max_retries=0)

    try:
        listed = list(client.models.list())
        report.models = [m.id for m in listed]
        report.practice = _practice_models(listed)
    except openai.NotFoundError:
        report.line(None, "the server does not list models (GET /models); that is allowed")
    except Exception as error:
        return _done(report.fail("reach the server", error), show)
    else:
        shown = ", ".join(report.models[:5]) + (" …" if len(report.models) > 5 else "")
        report.line(True, f"reachable, key accepted; models: {shown or '(none listed)'}")
    report.line(
        None,
        "this is the practice server: deterministic replies, faults on request"
        if report.practice
        else "not the practice server: replies will differ from the notebooks' stored outputs, "
        "and the practice faults of notebook 05 have no effect",
    )

    prompt = "Reply with just OK."
    limit = {"max_tokens": BUDGET}
    try:
        try:
            reply = chat.complete(prompt, client=client, model=settings.model, **limit)
        except openai.BadRequestError as error:
            if "max_completion_tokens" not in str(error):
                raise
            limit = {"max_completion_tokens": BUDGET}
            report.line(None, "this model takes max_completion_tokens, not max_tokens (as OpenAI's reasoning models do)")
            reply = chat.complete(prompt, client=client, model=settings.model, **limit)
        if reply.text.strip():
            report.line(True, f"completion works: {reply.text.strip()[:40]!r} in {reply.seconds:.2f} s")
        else:
            report.line(True, f"completion works, but the reply was empty ({reply.finish_reason}): a thinking model "
                        f"may have spent all {BUDGET} tokens thinking; give it a larger max_tokens")
    except Exception as error:
        return _done(report.fail("a completion", error), show)

    try:
        text_stream = chat.stream(prompt, client=client, model=settings.model, **limit)
        for _ in text_stream:
            pass
        result = text_stream.result
        report.usage_chunk = result.usage is not None
        report.line(True, f"streaming works: {result.chunks} chunks, first token after {result.time_to_first_token or 0:.2f} s")
        report.line(
            None,
            "usage chunk sent (token counts at the end of a stream)"
            if report.usage_chunk
            else "no usage chunk: this server does not report token counts in streams; the helpers count pieces instead",
        )
    except Exception as error:
        return _done(report.fail("a stream", error), show)
    report.responses_api = _responses_api(report, client, settings.model, limit)
    report.thinks = bool(result.thinking_pieces or result.reasoning_tokens or reply.thinking)
    if report.thinks:
        shown = (f"it streams its thinking before the answer ({len(result.thinking_pieces)} pieces, "
                 f"{result.thinking_seconds:.1f} s)" if result.thinking_pieces else
                 f"it thinks before answering but does not show it ({result.reasoning_tokens} tokens, counted in usage)")
        report.line(None, f"a thinking model: {shown}")
    return _done(report, show)


def _responses_api(report: Report, client: openai.OpenAI, model: str, limit: dict) -> bool:
    """Whether the server also speaks the Responses API (POST /v1/responses); not having it is no failure."""
    try:
        reply = chat.complete("Reply with just OK.", client=client, model=model, api="responses", **limit)
    except (openai.NotFoundError, openai.BadRequestError, openai.UnprocessableEntityError) as error:
        report.line(None, f"no Responses API here ({getattr(error, 'status_code', '?')} for /responses): "
                    "the notebooks use Chat Completions, which every compatible server has")
        return False
    except openai.APIError as error:
        report.line(None, f"the Responses API answered with an error: {explain(error, report.settings.api_key)}")
        return False
    report.line(True, f"the Responses API works too: {reply.text.strip()[:40]!r}")
    return True


def _done(report: Report, show: bool) -> Report:
    if show:
        print(report)
    return report
