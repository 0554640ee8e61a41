"""The practice server as a JupyterHub service: a request's key must be a token the hub vouches for.

JupyterHub gives every user's server its own token (``JUPYTERHUB_API_TOKEN``), and the helpers send it
as the API key (``helpers/hub.py``), so a classroom has no shared key to hand out. Whose token it is,
the hub answers at ``GET {JUPYTERHUB_API_URL}/user``: any token may ask that of itself, whatever its
scopes. Answers are cached for a minute (a failed one for a few seconds) and concurrent checks of one
token share a single request, so a room of streams costs the hub about one request per student per
minute. A refused token gets OpenAI's 401; a hub that cannot be asked, a 503 to try again.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from dataclasses import dataclass
from typing import Mapping
from urllib.parse import urlsplit

import httpx
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from . import errors
from .errors import APIError

VALID_FOR = 60.0  # seconds a token the hub vouched for is trusted without asking again
REFUSED_FOR = 5.0  # seconds a refused token stays refused (a fresh server's token may be a moment early)
HUB_TIMEOUT = 5.0
MAX_CACHED = 10_000
OPEN_PATHS = frozenset({"/"})  # the index says where the API is; it holds nothing


class HubUnreachable(Exception):
    """The hub did not give an answer either way (down, slow, or an error of its own)."""


@dataclass(frozen=True)
class Verdict:
    owner: str | None  # the user (or service) the token belongs to; None: the hub refused it
    expires: float


def hub_api_url(environ: Mapping[str, str] = os.environ) -> str | None:
    """The hub's REST API, as JupyterHub tells the services it starts."""
    url = environ.get("JUPYTERHUB_API_URL", "").strip().rstrip("/")
    return url or None


def service_prefix(environ: Mapping[str, str] = os.environ) -> str:
    """The path the hub's proxy routes to this service (``/services/practice/``), to be taken off."""
    prefix = environ.get("JUPYTERHUB_SERVICE_PREFIX", "").strip()
    return prefix if prefix.startswith("/") and prefix.endswith("/") and prefix != "/" else ""


def service_address(environ: Mapping[str, str] = os.environ) -> tuple[str, int] | None:
    """Where the hub expects this service to listen: JUPYTERHUB_SERVICE_URL's host and port."""
    url = environ.get("JUPYTERHUB_SERVICE_URL", "").strip()
    if not url:
        return None
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    return parts.hostname, parts.port or (443 if parts.scheme == "https" else 80)


class HubTokens:
    """Asks the hub whose a token is, and remembers the answer for a short time."""

    def __init__(self, api_url: str, valid_for: float = VALID_FOR, refused_for: float = REFUSED_FOR,
                 timeout: float = HUB_TIMEOUT) -> None:
        self.api_url = api_url.rstrip("/")
        self.valid_for = valid_for
        self.refused_for = refused_for
        self.timeout = timeout
        self.hub_requests = 0  # how often the hub was asked (for tests and the curious)
        self._verdicts: dict[str, Verdict] = {}
        self._pending: dict[str, asyncio.Future[Verdict]] = {}

    async def owner(self, token: str) -> str | None:
        """The name the hub knows this token by, or None if it refused it. Raises HubUnreachable."""
        key = hashlib.sha256(token.encode()).hexdigest()  # the cache never holds a token itself
        verdict = self._verdicts.get(key)
        if verdict is not None and verdict.expires > time.monotonic():
            return verdict.owner
        check = self._pending.get(key)
        if check is None:
            check = self._pending[key] = asyncio.create_task(self._check(key, token))
        return (await asyncio.shield(check)).owner  # one waiter leaving does not cancel the others' check

    async def _check(self, key: str, token: str) -> Verdict:
        try:
            verdict = await self._ask_hub(token)
            self._remember(key, verdict)
            return verdict
        finally:
            del self._pending[key]

    async def _ask_hub(self, token: str) -> Verdict:
        self.hub_requests += 1
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                response = await client.get(f"{self.api_url}/user", headers={"Authorization": f"token {token}"})
        except httpx.HTTPError as error:
            raise HubUnreachable(f"{type(error).__name__} from {self.api_url}") from None
        now = time.monotonic()
        if response.status_code in (401, 403):
            return Verdict(None, now + self.refused_for)
        if response.status_code != 200:
            raise HubUnreachable(f"HTTP {response.status_code} from {self.api_url}/user")
        try:
            name = response.json().get("name")
        except (ValueError, AttributeError):
            raise HubUnreachable(f"no JSON object from {self.api_url}/user") from None
        if not isinstance(name, str) or not name:
            return Verdict(None, now + self.refused_for)
        return Verdict(name, now + self.valid_for)

    def _remember(self, key: str, verdict: Verdict) -> None:
        if len(self._verdicts) >= MAX_CACHED:
            now = time.monotonic()
            self._verdicts = {k: v for k, v in self._verdicts.items() if v.expires > now}
            if len(self._verdicts) >= MAX_CACHED:
                self._verdicts.clear()
        self._verdicts[key] = verdict


def hub_unreachable() -> APIError:
    return APIError(
        503,
        "The practice server could not ask JupyterHub whether this key is valid. Please try again in a moment.",
        type="server_error",
        code="service_unavailable",
        headers={"Retry-After": "2"},
    )


class HubTokenCheck:
    """ASGI middleware: every request but the index needs 'Authorization: Bearer <a hub token>'.

    It takes the place of the practice server's shared key (``--api-key``); the user's name is put in
    ``scope["state"]["hub_user"]`` for routes that want it. Requests that come through the hub's proxy
    (``/services/practice/v1/...``) are answered as if sent to ``/v1/...``.
    """

    def __init__(self, app: ASGIApp, tokens: HubTokens, prefix: str = "") -> None:
        self.app = app
        self.tokens = tokens
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if self.prefix and scope["path"].startswith(self.prefix):
            path = scope["path"][len(self.prefix) - 1:]
            scope = {**scope, "path": path, "raw_path": path.encode()}
        if scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
        token = token.strip()
        if scheme.lower() not in ("bearer", "token") or not token:
            await errors.missing_key().response()(scope, receive, send)
            return
        try:
            owner = await self.tokens.owner(token)
        except HubUnreachable:
            await hub_unreachable().response()(scope, receive, send)
            return
        if owner is None:
            await errors.wrong_key().response()(scope, receive, send)
            return
        scope.setdefault("state", {})["hub_user"] = owner
        await self.app(scope, receive, send)
