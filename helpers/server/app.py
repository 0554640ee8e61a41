"""The practice server's ASGI app: OpenAI's routes, answered offline and deterministically."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from openai.types import Model
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..defaults import PRACTICE_OWNER, TOKENS_PER_SECOND
from . import access, errors, models
from .chat_completions import chat_completions
from .errors import APIError
from .incoming import check_key
from .responses import create_response, retrieve_response
from .store import ResponseStore
from .stream import Stats

CREATED = 1_700_000_000  # a fixed "created" for the model list
log = logging.getLogger("uvicorn.error")


@dataclass
class Settings:
    tokens_per_second: float = TOKENS_PER_SECOND
    api_key: str | None = field(default=None, repr=False)  # the room's key: never in a repr or a log


def create_app(tokens_per_second: float = TOKENS_PER_SECOND, api_key: str | None = None) -> Starlette:
    """The practice server as an ASGI app (``uvicorn.run(create_app())``, or mount it in tests).

    Every route is served under /v1 and, as gpt4free does, at the root too."""
    routes = [
        ("/models", list_models, "GET"),
        ("/models/{model:path}", retrieve_model, "GET"),
        ("/chat/completions", chat_completions, "POST"),
        ("/responses", create_response, "POST"),
        ("/responses/{response_id}", retrieve_response, "GET"),
    ]
    app = Starlette(
        routes=[Route(prefix + path, handler, methods=[method]) for path, handler, method in routes for prefix in ("/v1", "")]
        + [Route("/practice/stats", stats, methods=["GET"]), Route("/", index, methods=["GET"])],
        exception_handlers={HTTPException: http_error, APIError: api_error, Exception: unexpected_error},
        middleware=[Middleware(access.RequestIds)],
    )
    app.state.settings = Settings(tokens_per_second=tokens_per_second, api_key=api_key)
    app.state.stats = Stats()
    app.state.responses = ResponseStore()
    return app


# --- errors ---------------------------------------------------------------------------------


async def api_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, APIError)
    return error.response()


async def http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    if error.status_code == 405:
        message = f"Method {request.method} is not allowed for {request.url.path}."
        return APIError(405, message, headers=dict(error.headers or {})).response()
    message = (
        f"Invalid URL ({request.method} {request.url.path}). "
        "The practice server answers /v1/models, /v1/chat/completions and /v1/responses."
    )
    return APIError(error.status_code, message).response()


async def unexpected_error(request: Request, error: Exception) -> Response:
    """A crash: logged with its traceback and request id, answered as what it is (never as a practice fault)."""
    request_id = access.request_id(request.scope)
    log.error("Internal error in the practice server (request id %s)", request_id, exc_info=error)
    return errors.internal_error(request_id).response()


# --- routes ---------------------------------------------------------------------------------


async def index(request: Request) -> Response:
    base = f"{request.url.scheme}://{request.url.netloc}/v1"
    return JSONResponse({"message": f"This is the practice server. Use base URL {base}", "base_url": base})


async def stats(request: Request) -> Response:
    check_key(request)
    return JSONResponse(request.app.state.stats.as_dict())


def _model(name: str) -> dict:
    return Model(id=name, object="model", created=CREATED, owned_by=PRACTICE_OWNER).model_dump()


async def list_models(request: Request) -> Response:
    check_key(request)
    return JSONResponse({"object": "list", "data": [_model(name) for name in models.LISTED]})


async def retrieve_model(request: Request) -> Response:
    check_key(request)
    return JSONResponse(_model(request.path_params["model"]))
