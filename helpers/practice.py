"""``helpers.ensure_server()``: a server to talk to, from the first cell of any notebook, in any front end.

In Colab, on Binder, in VS Code or on a course's JupyterHub no terminal starts the practice server, and a
notebook opened on its own finds nothing on :1337. So the first cell of each notebook calls this: when the
settings point at the practice server's address and nothing answers there, it starts the practice server in
this kernel (a thread; it stops with the kernel). It never starts a second one when a server answers, never
starts one when the settings point elsewhere, and says in one line what it did.
"""

from __future__ import annotations

import os

from . import config
from .defaults import PRACTICE_BASE_URL, PRACTICE_PORT, TOKENS_PER_SECOND
from .lab import server_answers

PACE_VARIABLE = "PRACTICE_TOKENS_PER_SECOND"  # the in-kernel server's pace (0: as fast as possible, as tests use)

_started = None  # the server this kernel started, if any


def ensure_server(settings: config.Settings | None = None) -> None:
    """Make sure the configured server can be reached; start the practice server in this kernel if that is
    what the settings ask for and nothing answers. Prints one line saying what happened."""
    global _started
    settings = settings or config.settings()
    if settings.base_url != PRACTICE_BASE_URL:
        line = f"Using the server at {settings.base_url} ({settings.sources.get('base_url', 'settings')})."
    else:
        state = server_answers(settings.base_url, timeout=1.0)
        if state:
            where = "in this kernel" if _started is not None else "already running"
            line = f"Practice server: {where} at {settings.base_url}."
        elif state is False:
            line = (f"Port {PRACTICE_PORT} is taken by something that is not an OpenAI-compatible server: stop it, "
                    "or set OPENAI_BASE_URL to your server.")
        else:
            _started = _start()
            line = f"Practice server: started in this kernel at {settings.base_url} (nothing was answering there)."
    print(line)


def _start():
    from .server import create_app  # imported only when needed: most kernels never start one
    from .server.testing import ServerThread

    pace = float(os.environ.get(PACE_VARIABLE, TOKENS_PER_SECOND))
    return ServerThread(create_app(tokens_per_second=pace), port=PRACTICE_PORT).start()
