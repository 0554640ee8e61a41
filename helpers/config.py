"""Settings: which server, which key, which model, and where each came from.

Each value is taken from the first place that has it:
explicit arguments > environment (OPENAI_BASE_URL, OPENAI_API_KEY, OPENAI_MODEL) > on JupyterHub, the
hub's practice service (helpers/hub.py) > a .env file > the practice server's defaults. Common mistakes
in a base URL are explained, not just raised.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import openai
from dotenv import dotenv_values, find_dotenv

from . import hub
from .defaults import PRACTICE_BASE_URL, PRACTICE_MODEL

GPT4FREE_BASE_URL = "http://localhost:1337/v1"  # g4f's own port, wherever PRACTICE_PORT moves the practice server
PLACEHOLDER_KEY = "not-needed"  # the openai client refuses an empty key, even for servers that ignore it
ENV_NAMES = {"base_url": "OPENAI_BASE_URL", "api_key": "OPENAI_API_KEY", "model": "OPENAI_MODEL"}
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}

# Timeouts: give up quickly if nothing listens, but let a slow model think between chunks.
CONNECT_TIMEOUT = 5.0
READ_TIMEOUT = 60.0


class ConfigError(ValueError):
    """A setting that cannot work, with the fix in the message."""


@dataclass(frozen=True)
class Preset:
    base_url: str
    api_key: str | None  # None: a real key is needed
    model: str
    notes: str


PRESETS: dict[str, Preset] = {
    "practice": Preset(PRACTICE_BASE_URL, PLACEHOLDER_KEY, PRACTICE_MODEL, "this tutorial's offline server: python -m helpers serve"),
    "gpt4free": Preset(GPT4FREE_BASE_URL, PLACEHOLDER_KEY, "gpt-4o-mini", "g4f's interference API, on the practice server's usual port; it may send errors inside the stream"),
    "openai": Preset("https://api.openai.com/v1", None, "gpt-4o-mini", "needs a real key (OPENAI_API_KEY); costs money"),
    "ollama": Preset("http://localhost:11434/v1", "ollama", "llama3.2", "key ignored; model must be pulled first (ollama pull llama3.2)"),
    "lmstudio": Preset("http://localhost:1234/v1", "lm-studio", "local-model", "key ignored; start the server in LM Studio's Developer tab"),
    "llamacpp": Preset("http://localhost:8080/v1", PLACEHOLDER_KEY, "local-model", "key ignored unless --api-key; no usage chunk; one model, any name"),
    "vllm": Preset("http://localhost:8000/v1", "EMPTY", "served-model-name", "model must be the name vllm serve was given"),
}


def mask(key: str) -> str:
    """Enough of a key to recognise it, never enough to use it."""
    if not key:
        return "(empty)"
    if key in {p.api_key for p in PRESETS.values()}:
        return key  # placeholders are not secrets
    return f"{key[:3]}…{key[-2:]}" if len(key) >= 12 else "…" * 3


def redact(text: str, key: str | None) -> str:
    """Remove a key, and anything shaped like an OpenAI key, from a message."""
    if key and len(key) >= 4 and key not in {p.api_key for p in PRESETS.values()}:
        text = text.replace(key, mask(key))
    return re.sub(r"sk-[A-Za-z0-9_\-*]{8,}", "sk-…", text)


@dataclass(frozen=True)
class Settings:
    base_url: str
    api_key: str = field(repr=False)
    model: str
    sources: dict[str, str] = field(default_factory=dict, compare=False)
    warnings: tuple[str, ...] = ()

    def __repr__(self) -> str:
        return f"Settings(base_url={self.base_url!r}, api_key={mask(self.api_key)!r}, model={self.model!r})"

    def describe(self) -> str:
        """A short table of the values and where each came from (the key masked)."""
        rows = [
            ("base_url", self.base_url),
            ("api_key", mask(self.api_key)),
            ("model", self.model),
        ]
        lines = [f"{name:<9} {value:<34} from {self.sources.get(name, '?')}" for name, value in rows]
        lines += [f"warning: {w}" for w in self.warnings]
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:  # what IPython shows
        printer.text(self.describe())


def _from_dotenv() -> tuple[dict[str, str], str]:
    path = find_dotenv(usecwd=True)
    if not path:
        return {}, ""
    return {k: v for k, v in dotenv_values(path).items() if v is not None}, path


def check_base_url(url: str) -> tuple[str, list[str]]:
    """Normalise a base URL and explain likely mistakes. Raises ConfigError when it cannot work."""
    url = url.strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(f"Base URL {url!r} needs http:// or https:// and a host, e.g. {PRACTICE_BASE_URL}")
    if parts.path.endswith("/chat/completions"):
        fixed = url[: -len("/chat/completions")]
        raise ConfigError(
            f"Base URL {url!r} ends with /chat/completions, which the client adds itself. Use {fixed!r}."
        )
    warnings = []
    if parts.scheme == "https" and parts.hostname in LOCAL_HOSTS:
        warnings.append(
            f"{url} uses https, but local servers speak plain http: try {url.replace('https://', 'http://', 1)}"
        )
    if not re.search(r"/v\d+(beta)?$", parts.path):
        warnings.append(
            f"{url} does not end with /v1: the client will post to {url}/chat/completions, which most servers "
            f"answer with 404. Try {url}/v1"
        )
    return url, warnings


def settings(
    base_url: str | None = None,
    api_key: str | None = None,
    model: str | None = None,
    preset: str | None = None,
) -> Settings:
    """Resolve the settings: arguments (or a named preset) > environment > .env > practice server."""
    if preset is not None and preset not in PRESETS:
        raise ConfigError(f"Unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    chosen = PRESETS[preset] if preset else None
    dotenv, dotenv_path = _from_dotenv()
    given = {"base_url": base_url, "api_key": api_key, "model": model}
    defaults = PRESETS["practice"]
    values: dict[str, str] = {}
    sources: dict[str, str] = {}
    # On JupyterHub with no base URL set, the hub's practice service; its key (the user's hub token) goes
    # with its URL only, so it comes before OPENAI_API_KEY, which may be meant for another server.
    service = None if base_url or chosen or os.environ.get(ENV_NAMES["base_url"]) else hub.practice_service()
    from_hub = {"base_url": service.base_url, "api_key": service.api_key} if service else {}
    for name, env_name in ENV_NAMES.items():
        candidates = [
            (given[name], "argument"),
            (getattr(chosen, name) if chosen else None, f"preset {preset!r}"),
            (from_hub.get(name), service.source if service else ""),
            (os.environ.get(env_name), f"environment ({env_name})"),
            (dotenv.get(env_name), f".env ({dotenv_path})"),
            (getattr(defaults, name), "practice-server default"),
        ]
        values[name], sources[name] = next((v, s) for v, s in candidates if v)
    url, warnings = check_base_url(values["base_url"])
    if service and service.warning and sources["base_url"] == "practice-server default":
        warnings.append(service.warning)
    key = values["api_key"]
    if key == PLACEHOLDER_KEY and "api.openai.com" in url:
        raise ConfigError("api.openai.com needs a real key: set OPENAI_API_KEY (in your shell or a .env file).")
    if sources["api_key"] == "practice-server default":
        sources["api_key"] += " (a placeholder: most local servers ignore the key, but the client needs one)"
    if sources["api_key"] == getattr(service, "source", None):
        sources["api_key"] += " (this server's own JUPYTERHUB_API_TOKEN)"
    return Settings(base_url=url, api_key=key, model=values["model"], sources=sources, warnings=tuple(warnings))


def _timeout(read: float | None) -> openai.Timeout:
    return openai.Timeout(read if read is not None else READ_TIMEOUT, connect=CONNECT_TIMEOUT)


def client(config: Settings | None = None, *, timeout: float | None = None, max_retries: int = 2) -> openai.OpenAI:
    """An OpenAI client for these settings, with a short connect timeout and a 60 s wait between chunks."""
    config = config or settings()
    return openai.OpenAI(
        base_url=config.base_url, api_key=config.api_key, timeout=_timeout(timeout), max_retries=max_retries
    )


def async_client(
    config: Settings | None = None, *, timeout: float | None = None, max_retries: int = 2
) -> openai.AsyncOpenAI:
    """The same as client(), for ``await`` and several streams at once."""
    config = config or settings()
    return openai.AsyncOpenAI(
        base_url=config.base_url, api_key=config.api_key, timeout=_timeout(timeout), max_retries=max_retries
    )
