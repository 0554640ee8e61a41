"""The practice server's defaults, defined once: where it listens, how fast it streams, how it names itself.

Both ends read these (the server to listen, the helpers to find it), so this module imports only ``os``:
``PRACTICE_PORT=1338`` in the environment moves the practice server for everything that starts after it is set
(when gpt4free already has :1337, or for parallel test workers).
"""

import os

PRACTICE_HOST = "127.0.0.1"
PRACTICE_PORT = int(os.environ.get("PRACTICE_PORT") or 1337)  # gpt4free's "interference" API, where the seed looked
PRACTICE_BASE_URL = f"http://localhost:{PRACTICE_PORT}/v1"
PRACTICE_MODEL = "practice"
PRACTICE_OWNER = "practice-server"  # each model's owned_by: how helpers.is_practice_server() recognises it
TOKENS_PER_SECOND = 30.0  # the pace of streamed replies: about what a hosted model streams
