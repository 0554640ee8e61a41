"""Turning a failure into one line that says what happened and what to do about it."""

from __future__ import annotations

import asyncio
import re

import openai

from .config import PRACTICE_BASE_URL, redact

START_PRACTICE = ("run helpers.ensure_server() (it starts the practice server in this kernel), or python -m helpers serve "
                  "in a terminal, or set OPENAI_BASE_URL to your server")


def _where(error: BaseException) -> str:
    request = getattr(error, "request", None)
    url = str(getattr(request, "url", "") or "")
    return f" ({url})" if url else ""


def _retries(error: openai.APIStatusError) -> str:
    """How many times the client already retried, from the header it sends on every attempt."""
    count = error.response.request.headers.get("x-stainless-retry-count")
    if count is None:
        return ""
    if count == "0":
        return " (automatic retries were off)"
    return f" after {count} automatic {'retry' if count == '1' else 'retries'}"


def server_message(error: openai.APIError) -> str:
    """The server's own words, wherever its error body holds them: ``{"error": {"message": ...}}`` (OpenAI),
    ``{"error": "..."}`` (Hugging Face TGI, in a stream), ``{"message": ...}`` or ``{"detail": ...}`` (FastAPI)."""
    body = error.body
    if isinstance(body, dict):
        body = body.get("error", body)
    if isinstance(body, dict):
        body = body.get("message") or body.get("detail") or body.get("msg")
    if isinstance(body, list) and body:  # FastAPI's 422: a list of {"loc", "msg", ...}
        body = "; ".join(str(item.get("msg", item)) if isinstance(item, dict) else str(item) for item in body)
    if isinstance(body, str) and body.strip():
        return body.strip()
    return error.message


def _bad_request_fix(message: str) -> str:
    """The fix for the 400s a learner meets when moving to OpenAI's reasoning models."""
    if "max_completion_tokens" in message:
        return " Fix: pass max_completion_tokens=... instead of max_tokens (OpenAI's reasoning models count thinking in it)."
    if "temperature" in message and "Unsupported" in message:
        return " Fix: leave temperature out; reasoning models accept only the default."
    return ""


def explain(error: BaseException, api_key: str | None = None) -> str:
    """One line: what went wrong, and the fix. Never contains the API key."""
    return redact(_explain(error), api_key)


def _explain(error: BaseException) -> str:
    if isinstance(error, (KeyboardInterrupt, asyncio.CancelledError)):
        return "Stopped: the connection was closed and the text so far is kept."
    if isinstance(error, openai.APITimeoutError):
        return (
            f"Timed out waiting for the server{_where(error)}: it may be busy or stalled. Try again, or allow "
            "longer with helpers.client(timeout=120)."
        )
    if isinstance(error, openai.APIConnectionError):
        cause = repr(error.__cause__ or "")
        if "refused" in cause.lower() or "ConnectError" in cause:
            return f"Could not connect{_where(error)}: nothing is listening there. Fix: {START_PRACTICE}."
        return (
            f"The connection broke{_where(error)} before the reply was complete (the server closed it or the "
            "network dropped). The text received so far is kept; try again."
        )
    if isinstance(error, openai.AuthenticationError):
        return (
            "The server rejected the API key (401). Fix: set OPENAI_API_KEY to the key this server expects "
            "(in workshop mode, the instructor's key)."
        )
    if isinstance(error, openai.PermissionDeniedError):
        return f"The key is not allowed to do this (403): {server_message(error)}"
    if isinstance(error, openai.NotFoundError):
        message = server_message(error)
        code = error.code or ""
        if code == "model_not_found" or getattr(error, "param", None) == "model" or re.search(r"\bmodel\b", message, re.I):
            return (
                f"This server has no such model (404): {message} Fix: pick one from client.models.list() "
                "and set OPENAI_MODEL."
            )
        return (
            f"Not found (404){_where(error)}: the base URL probably lacks /v1. Fix: set OPENAI_BASE_URL to "
            f"something like {PRACTICE_BASE_URL}."
        )
    if isinstance(error, openai.RateLimitError):
        if error.code == "insufficient_quota":  # a 429 that no waiting fixes
            return (f"Out of credit (429 insufficient_quota): {server_message(error)} Retrying will not help. Fix: add "
                    "credit or raise the limit in your account's billing settings, or use a local server.")
        return f"Rate limited (429){_retries(error)}. Fix: wait a little and try again, or send fewer requests at once."
    if isinstance(error, openai.InternalServerError):
        message = server_message(error)
        advice = "" if "try again" in message.lower() else " Try again later."
        return f"The server failed ({error.status_code}){_retries(error)}: {message}{advice}"
    if isinstance(error, openai.BadRequestError):
        return f"The server refused the request (400): {server_message(error)}{_bad_request_fix(server_message(error))}"
    if isinstance(error, openai.APIStatusError):
        return f"The server answered {error.status_code}: {server_message(error)}"
    if isinstance(error, openai.APIError):  # an error event inside a stream
        return f"The server sent an error in the middle of the reply: {server_message(error)} The text so far is kept."
    if isinstance(error, ValueError):  # ConfigError and friends carry their own fix
        return str(error)
    return f"{type(error).__name__}: {error}"
