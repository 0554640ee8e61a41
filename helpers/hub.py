"""On JupyterHub, find the classroom's practice server with nothing to set.

JupyterHub starts each user's server with ``JUPYTERHUB_API_URL`` and ``JUPYTERHUB_API_TOKEN`` (the
server's own token) in its environment, and kernels inherit them. When ``OPENAI_BASE_URL`` is not set,
``settings()`` asks the hub for its service named ``practice``
(``GET {JUPYTERHUB_API_URL}/services/practice``) and, if there is one, talks to it with the user's
own token as the key: the service (``python -m helpers serve --jupyterhub``) asks the hub whose token
it is, so there is no shared key to hand out.

A user server's token may read the service only if the hub grants it ``read:services!service=practice``
(by default it may only post activity and reach its own server): the instructor's jupyterhub_config.py
in the README does. Answers are cached for a minute, so settings() asks the hub at most once a minute.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass, field
from typing import Mapping

import httpx

SERVICE_NAME = "practice"
SCOPE = f"read:services!service={SERVICE_NAME}"
TIMEOUT = 3.0
REMEMBER_FOR = 60.0


@dataclass(frozen=True)
class HubService:
    """What the hub said: the practice service's base URL and the key to use there, or why not."""

    base_url: str | None = None
    api_key: str | None = field(default=None, repr=False)
    warning: str | None = None

    @property
    def source(self) -> str:
        return f"JupyterHub service {SERVICE_NAME!r}"


_answers: dict[tuple[str, str], tuple[float, HubService]] = {}


def on_jupyterhub(environ: Mapping[str, str] = os.environ) -> bool:
    return bool(environ.get("JUPYTERHUB_API_URL") and environ.get("JUPYTERHUB_API_TOKEN"))


def practice_service(environ: Mapping[str, str] = os.environ) -> HubService | None:
    """The hub's practice service, or None when this is not a JupyterHub user's server."""
    if not on_jupyterhub(environ):
        return None
    api_url = environ["JUPYTERHUB_API_URL"].rstrip("/")
    token = environ["JUPYTERHUB_API_TOKEN"]
    key = (api_url, hashlib.sha256(token.encode()).hexdigest())
    remembered = _answers.get(key)
    if remembered is not None and remembered[0] > time.monotonic():
        return remembered[1]
    answer = _ask_hub(api_url, token)
    _answers[key] = (time.monotonic() + REMEMBER_FOR, answer)
    return answer


def _ask_hub(api_url: str, token: str) -> HubService:
    url = f"{api_url}/services/{SERVICE_NAME}"
    try:
        response = httpx.get(url, headers={"Authorization": f"token {token}"}, timeout=TIMEOUT)
    except httpx.HTTPError as error:
        return HubService(warning=f"on JupyterHub, but its API at {api_url} did not answer ({type(error).__name__})")
    if response.status_code in (403, 404):
        return HubService(warning=f"on JupyterHub, but it shows this server no service {SERVICE_NAME!r}: "
                          f"if the instructor runs one, the hub must grant {SCOPE} (README, JupyterHub)")
    if response.status_code != 200:
        return HubService(warning=f"on JupyterHub, but {url} answered HTTP {response.status_code}")
    try:
        service_url = str(response.json().get("url") or "")
    except (ValueError, AttributeError):
        service_url = ""
    if not service_url.startswith(("http://", "https://")):
        return HubService(warning=f"on JupyterHub, but its service {SERVICE_NAME!r} has no URL this server may "
                          f"read: the hub must grant {SCOPE}, and the service needs a url (README, JupyterHub)")
    return HubService(base_url=service_url.rstrip("/") + "/v1", api_key=token)
