"""openai-python's own examples, unmodified, against the practice server: the structured-output and tool
examples of Chat Completions (`parse`, the `stream` helper, `pydantic_function_tool`) and of the Responses API
(`responses.stream`, `responses.parse`, with `text_format` and tools) must simply work.
The examples are vendored in tests/third_party/openai_python (origin and licence in its README)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import child_env

EXAMPLES = Path(__file__).parent / "third_party" / "openai_python" / "examples"
CHAT_EXAMPLES = ["parsing.py", "parsing_stream.py", "parsing_tools.py", "parsing_tools_stream.py"]
RESPONSES_EXAMPLES = ["responses/streaming.py", "responses/streaming_tools.py", "responses/structured_outputs.py",
                      "responses/structured_outputs_tools.py"]


@pytest.mark.parametrize("name", CHAT_EXAMPLES + RESPONSES_EXAMPLES)
def test_example_runs_unmodified(practice_server, name):
    env = child_env(OPENAI_BASE_URL=practice_server.base_url, OPENAI_API_KEY="not-needed")
    done = subprocess.run([sys.executable, str(EXAMPLES / name)], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    assert done.stdout.strip()
