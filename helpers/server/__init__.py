"""The practice server: an offline, deterministic, OpenAI-compatible chat server.

``create_app()`` is the ASGI app; ``helpers.server.serve.serve()`` runs it with uvicorn (imported only then).
"""

from .app import create_app

__all__ = ["create_app"]
