"""Workshop mode: a practice server started with a key answers only requests that carry it, and never
shows a key it was sent, right or wrong."""

from __future__ import annotations

import httpx
import openai
import pytest

POEM = [{"role": "user", "content": "write a poem about a tree"}]
KEY = "sk-workshop-4f7d1c2e9b"
WRONG_KEY = "sk-guess-8a3e5b6d0f"


@pytest.fixture
def keyed_server(fresh_server):
    return fresh_server(api_key=KEY)


def test_right_key_works(keyed_server):
    keyed = openai.OpenAI(base_url=keyed_server.base_url, api_key=KEY, timeout=10, max_retries=0)
    reply = keyed.chat.completions.create(model="practice", messages=POEM)
    assert "Rooted deep" in reply.choices[0].message.content
    chunks = keyed.chat.completions.create(model="practice", messages=POEM, stream=True)
    assert "Rooted deep" in "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "practice" in [m.id for m in keyed.models.list()]


@pytest.mark.parametrize("path", ["/chat/completions", "/models"])
def test_wrong_key_is_401_and_never_echoed(keyed_server, path):
    wrong = openai.OpenAI(base_url=keyed_server.base_url, api_key=WRONG_KEY, timeout=10, max_retries=0)
    with pytest.raises(openai.AuthenticationError) as raised:
        if path == "/models":
            wrong.models.list()
        else:
            wrong.chat.completions.create(model="practice", messages=POEM)
    response = raised.value.response
    assert response.status_code == 401
    assert WRONG_KEY not in response.text and KEY not in response.text
    assert WRONG_KEY not in str(response.headers) and KEY not in str(response.headers)
    assert response.json()["error"]["code"] == "invalid_api_key"


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": ""}, {"Authorization": "Bearer"}, {"Authorization": KEY}, {"Authorization": f"Basic {KEY}"}],
    ids=["none", "empty", "bearer-nothing", "no-scheme", "basic"],
)
def test_missing_key_is_401(keyed_server, headers):
    body = {"model": "practice", "messages": POEM}
    response = httpx.post(keyed_server.base_url + "/chat/completions", json=body, headers=headers, timeout=10)
    assert response.status_code == 401
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert KEY not in response.text
    assert keyed_server.app.state.stats.active_streams == 0

