"""The practice server: an offline, deterministic, OpenAI-compatible chat server."""

from .app import DEFAULT_MODEL, MODELS, create_app
from .serve import serve

__all__ = ["DEFAULT_MODEL", "MODELS", "create_app", "serve"]
