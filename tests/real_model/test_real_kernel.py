"""The widget streams in a real kernel (driven through jupyter_client) against llama.cpp.

The kernel inherits OPENAI_BASE_URL/OPENAI_MODEL/OPENAI_API_KEY from the session (see conftest.py).
Each cell ends by printing one ``RESULT {json}`` line, which the test reads back.
"""

from __future__ import annotations

import json

import pytest

from tests.kernel_harness import Kernel

REPORT = (
    "print('\\nRESULT', json.dumps({'text': r.text, 'pieces': len(r.pieces), 'error': r.error, "
    "'stopped': r.stopped, 'finish_reason': r.finish_reason, 'usage': r.usage is not None, 'tokens': r.tokens, "
    "'summary': r.summary()}))"
)
REPORTS = (
    "print('\\nRESULT', json.dumps([{'text': r.text, 'error': r.error, 'stopped': r.stopped, "
    "'finish_reason': r.finish_reason, 'tokens': r.tokens} for r in rs]))"
)


@pytest.fixture(scope="module")
def kernel(real_model_environment):
    with Kernel() as k:  # this session's environment: OPENAI_* point at llama.cpp
        setup = k.run("import helpers, json", timeout=60)
        assert not setup.errors, setup.errors
        yield k


def result_of(run) -> dict | list:
    assert not run.errors, [e["content"]["traceback"][-1] for e in run.errors]
    assert run.reply["content"]["status"] == "ok"
    return json.loads(run.printed("RESULT"))


def widget_models(run) -> set[str]:
    opened = [m for m in run.messages if m["msg_type"] == "comm_open"]
    return {m["content"]["data"]["state"].get("_model_name", "") for m in opened}


def test_stream_to_output(kernel):
    run = kernel.run(f"r = helpers.stream_to_output('write a poem about a tree', max_tokens=60)\n{REPORT}", timeout=120)
    result = result_of(run)
    assert result["error"] is None and not result["stopped"], result
    assert result["text"].strip() and result["pieces"] > 1
    assert result["finish_reason"] in {"stop", "length"}
    assert result["usage"] is False and result["tokens"] == result["pieces"] <= 60  # no usage chunk: pieces counted
    assert {"OutputModel", "AnyModel"} <= widget_models(run)  # the stream view and the Output its text goes to
    # The streamed text went to the Output widget (as stream messages the front end routes there)
    assert result["text"][:20] in run.stdout
    # ... and the final status line says how it ended.
    statuses = [s["status"] for s in run.comm_states() if s.get("status")]
    assert statuses and "✓" in statuses[-1] and "tokens" in statuses[-1]


def test_stream_to_output_markdown(kernel):
    run = kernel.run(f"r = helpers.stream_to_output('write a haiku', max_tokens=30, markdown=True)\n{REPORT}",
                     timeout=120)
    result = result_of(run)
    assert result["error"] is None and result["text"].strip()


def test_astream_to_output(kernel):
    run = kernel.run(f"r = await helpers.astream_to_output('write a haiku', title='haiku', max_tokens=30)\n{REPORT}",
                     timeout=120)
    result = result_of(run)
    assert result["error"] is None and not result["stopped"] and result["text"].strip()


def test_side_by_side_takes_turns(kernel):
    """llama.cpp runs with --interrupt_requests False: two streams at once both complete."""
    cell = (
        "rs = await helpers.side_by_side([dict(prompt='write a haiku', title='A', max_tokens=25), "
        "dict(prompt='tell me a long story', title='B', max_tokens=25)])\n" + REPORTS
    )
    results = result_of(kernel.run(cell, timeout=120))
    assert len(results) == 2
    for result in results:
        assert result["error"] is None and not result["stopped"] and result["text"].strip(), result
        assert result["finish_reason"] in {"stop", "length"} and result["tokens"] <= 25
