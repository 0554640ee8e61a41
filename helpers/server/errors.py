"""OpenAI-style JSON errors: ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

from starlette.responses import JSONResponse


class APIError(Exception):
    """An error the server answers as OpenAI does, with a status and an error object."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> dict:
        return {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}

    def response(self) -> JSONResponse:
        return JSONResponse(self.body(), status_code=self.status, headers=self.headers)


def bad_request(message: str, param: str | None = None, code: str | None = None) -> APIError:
    return APIError(400, message, param=param, code=code)


def missing_key() -> APIError:
    return APIError(
        401,
        "You didn't provide an API key. Send it as 'Authorization: Bearer YOUR_KEY' "
        "(the openai client does this from OPENAI_API_KEY).",
        code="invalid_api_key",
    )


def wrong_key() -> APIError:
    # Like OpenAI, never echo the key that was sent.
    return APIError(
        401, "Incorrect API key provided. Ask whoever runs this server for the key.", code="invalid_api_key"
    )


def unknown_model(model: str) -> APIError:
    return APIError(
        404,
        f"The model `{model}` does not exist or you do not have access to it.",
        param="model",
        code="model_not_found",
    )


def rate_limited(retry_after: float) -> APIError:
    seconds = f"{retry_after:g}"
    return APIError(
        429,
        f"Rate limit reached for requests (practice fault). Please try again in {seconds}s.",
        type="requests",
        code="rate_limit_exceeded",
        headers={"Retry-After": seconds},
    )


def insufficient_quota() -> APIError:
    """OpenAI's 429 for an account out of credit: no retry helps, so the client is told not to retry."""
    return APIError(
        429,
        "You exceeded your current quota, please check your plan and billing details (practice fault).",
        type="insufficient_quota",
        code="insufficient_quota",
        headers={"x-should-retry": "false"},
    )


def server_error() -> APIError:
    return APIError(
        500,
        "The server had an error while processing your request (practice fault). Sorry about that!",
        type="server_error",
    )


def internal_error(request_id: str) -> APIError:
    """A bug in the practice server itself: never dressed up as a practice fault."""
    return APIError(
        500,
        f"Internal error in the practice server (request id {request_id}). This is a bug in the server, not in "
        "your request: the details are in the server's log under that id.",
        type="server_error",
        code="internal_error",
        headers={"x-request-id": request_id},
    )


def overloaded() -> APIError:
    return APIError(
        503,
        "The server is overloaded or not ready yet (practice fault). Please try again later.",
        type="server_error",
        code="service_unavailable",
        headers={"Retry-After": "1"},
    )


def in_stream_error() -> dict:
    """The error event a stream sends instead of more text (gpt4free does this)."""
    return {
        "error": {
            "message": "The model stopped with an error in the middle of the stream (practice fault).",
            "type": "server_error",
            "param": None,
            "code": "stream_error",
        }
    }
