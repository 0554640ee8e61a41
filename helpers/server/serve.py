"""Running the practice server with uvicorn, safely: loopback by default, a key for a room."""

from __future__ import annotations

import ipaddress
import logging
import sys

import uvicorn

from ..defaults import PRACTICE_HOST, PRACTICE_PORT, TOKENS_PER_SECOND
from . import hub_auth
from .access import log as access_log_lines
from .app import create_app


class RefusedToStart(SystemExit):
    """The server was asked to do something unsafe and explains why instead of starting."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _QuietDeliberateDrops(logging.Filter):
    """uvicorn reports an unfinished response as an error; the 'disconnect' fault does that on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "returned without completing response" not in record.getMessage()


def _add_once(logger_name: str, log_filter: logging.Filter) -> None:
    logger = logging.getLogger(logger_name)
    if not any(isinstance(f, type(log_filter)) for f in logger.filters):
        logger.addFilter(log_filter)


def install_log_filters() -> None:
    """Install the log filters once per process."""
    _add_once("uvicorn.error", _QuietDeliberateDrops())


def base_url(host: str, port: int) -> str:
    shown = "localhost" if host in ("127.0.0.1", "localhost") else host
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}/v1"


def serve(
    host: str | None = None,
    port: int | None = None,
    tokens_per_second: float = TOKENS_PER_SECOND,
    api_key: str | None = None,
    access_log: bool = True,
    jupyterhub: bool = False,
) -> None:
    """Serve until Ctrl-C. A host other than loopback needs an API key (workshop mode) or JupyterHub's tokens."""
    hub_api = _hub_api(api_key) if jupyterhub else None
    if hub_api:  # listen where the hub expects this service, unless told otherwise
        host, port = _with_hub_address(host, port)
    host, port = host or PRACTICE_HOST, port or PRACTICE_PORT
    if not is_loopback(host) and not api_key and not hub_api:
        raise RefusedToStart(
            f"Refusing to listen on {host} without --api-key: anyone on the network could use this server. "
            "For a workshop, run: python -m helpers serve --host 0.0.0.0 --api-key SOME-SHARED-WORD"
        )
    app = create_app(tokens_per_second=tokens_per_second, api_key=api_key)
    if hub_api:
        app.add_middleware(hub_auth.HubTokenCheck, tokens=hub_auth.HubTokens(hub_api),
                           prefix=hub_auth.service_prefix())
    install_log_filters()
    access_log_lines.disabled = not access_log  # the app logs each request with its id (uvicorn's own log is off)
    if hub_api:
        print(f"Practice server at {base_url(host, port)} as a JupyterHub service: each request's key must be a "
              f"token {hub_api} accepts; students' helpers find the service through the hub.", flush=True)
    else:
        mode = "workshop mode, key required" if api_key else "no key needed"
        print(f"Practice server: set OPENAI_BASE_URL={base_url(host, port)} ({mode}). Ctrl-C stops it.", flush=True)
    if not is_loopback(host) and not hub_api:
        print("Students set OPENAI_BASE_URL to this machine's address on the room's network, and OPENAI_API_KEY "
              "to the key you chose.", flush=True)
    uvicorn.run(app, host=host, port=port, log_level="info", access_log=False, timeout_graceful_shutdown=2)
    sys.stdout.flush()


def _hub_api(api_key: str | None) -> str:
    if api_key:
        raise RefusedToStart("--jupyterhub checks each user's own hub token: drop --api-key (there is no shared key).")
    api_url = hub_auth.hub_api_url()
    if not api_url:
        raise RefusedToStart("--jupyterhub needs JUPYTERHUB_API_URL, which JupyterHub sets for the services it "
                             "starts: run this as a service in jupyterhub_config.py (see the README).")
    return api_url


def _with_hub_address(host: str | None, port: int | None) -> tuple[str | None, int | None]:
    hub_host, hub_port = hub_auth.service_address() or (None, None)
    return host or hub_host, port or hub_port
