"""The JupyterHub pieces without a hub: the service's token check (helpers/server/hub_auth.py) and the
helpers finding the service (helpers/hub.py), against a stand-in for the two hub API routes they use.
`make test-hub` runs the same against a real JupyterHub, and the `serve --jupyterhub` command line."""

from __future__ import annotations

import asyncio
import os

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

import helpers
from helpers import hub
from helpers.server import create_app
from helpers.server.hub_auth import HubTokenCheck, HubTokens
from helpers.server.serve import RefusedToStart, serve
from helpers.server.testing import ServerThread, free_port

USERS = {"token-of-alice-0123456789": "alice", "token-of-bob-0123456789ab": "bob"}
SERVICE_READERS = {"token-of-alice-0123456789"}  # tokens granted read:services!service=practice


def fake_hub(service_url: str) -> Starlette:
    """GET /hub/api/user and GET /hub/api/services/practice, answered as JupyterHub does."""
    calls: list[str] = []

    def token(request: Request) -> str:
        return request.headers.get("authorization", "").partition(" ")[2]

    async def user(request: Request) -> JSONResponse:
        calls.append("user")
        sent = token(request)
        if sent == "token-that-breaks-the-hub":
            return JSONResponse({"status": 500, "message": "oops"}, status_code=500)
        if sent == "token-that-is-slow":
            await asyncio.sleep(0.1)
        if sent not in USERS and sent != "token-that-is-slow":
            return JSONResponse({"status": 403, "message": "Forbidden"}, status_code=403)
        return JSONResponse({"kind": "user", "name": USERS.get(sent, "slow"), "scopes": []})

    async def service(request: Request) -> JSONResponse:
        calls.append("service")
        sent = token(request)
        if sent in SERVICE_READERS:
            return JSONResponse({"kind": "service", "name": "practice", "url": service_url, "prefix": "/services/practice/"})
        if sent == "token-reading-names-only":
            return JSONResponse({"kind": "service", "name": "practice", "admin": False})
        return JSONResponse({"status": 404, "message": "No such service"}, status_code=404)

    app = Starlette(routes=[Route("/hub/api/user", user), Route("/hub/api/services/practice", service)])
    app.state.calls = calls
    return app


@pytest.fixture(scope="module")
def hub_api():
    server = ServerThread(fake_hub("http://127.0.0.1:10101")).start()
    yield server
    server.stop()


def behind_hub_check(hub_api: ServerThread) -> ServerThread:
    """A practice server behind the hub check, as `serve --jupyterhub` builds it."""
    app = create_app(tokens_per_second=0)
    tokens = HubTokens(hub_api.root_url + "/hub/api")
    app.add_middleware(HubTokenCheck, tokens=tokens, prefix="/services/practice/")
    server = ServerThread(app).start()
    server.tokens = tokens
    return server


@pytest.fixture(scope="module")
def protected(hub_api):
    server = behind_hub_check(hub_api)
    yield server
    server.stop()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# --- the service: every request's key is checked with the hub --------------------------------


@pytest.mark.parametrize("headers,message", [
    ({}, "You didn't provide an API key"),
    ({"Authorization": "Bearer"}, "You didn't provide an API key"),
    ({"Authorization": "Basic YWxpY2U6eA=="}, "You didn't provide an API key"),
    (bearer("not-a-token-the-hub-knows"), "Incorrect API key provided"),
])
def test_a_request_without_a_token_the_hub_vouches_for_gets_401(protected, headers, message):
    for method, path in (("GET", "/v1/models"), ("POST", "/v1/chat/completions"), ("GET", "/practice/stats")):
        response = httpx.request(method, protected.root_url + path, headers=headers, json={}, timeout=5)
        assert response.status_code == 401
        error = response.json()["error"]
        assert error["message"].startswith(message) and error["code"] == "invalid_api_key"
        assert "not-a-token" not in response.text


def test_a_users_hub_token_is_accepted_and_streams(protected):
    client = helpers.client(helpers.settings(base_url=protected.base_url, api_key="token-of-alice-0123456789"))
    assert helpers.complete("write a poem about a tree", client=client).text.startswith("**The Tree**")
    assert "".join(helpers.stream("count to 3", client=client)).strip().startswith("1")


def test_answers_are_cached_and_concurrent_checks_share_one_hub_request(protected, hub_api):
    async def many(token: str, count: int) -> list[int]:
        async with httpx.AsyncClient(timeout=10) as client:
            responses = await asyncio.gather(*(client.get(protected.base_url + "/models", headers=bearer(token))
                                               for _ in range(count)))
        return [r.status_code for r in responses]

    hub_calls, checks = hub_api.app.state.calls.count("user"), protected.tokens.hub_requests
    assert asyncio.run(many("token-that-is-slow", 20)) == [200] * 20
    assert asyncio.run(many("token-of-bob-0123456789ab", 10)) == [200] * 10
    assert asyncio.run(many("token-of-bob-0123456789ab", 10)) == [200] * 10
    assert asyncio.run(many("refused-token", 5)) == [401] * 5
    assert hub_api.app.state.calls.count("user") - hub_calls == 3 == protected.tokens.hub_requests - checks


def test_a_refused_token_is_asked_about_again_after_a_few_seconds(hub_api):
    tokens = HubTokens(hub_api.root_url + "/hub/api", refused_for=0.1, valid_for=0.1)

    async def twice(token: str) -> list[str | None]:
        first = await tokens.owner(token)
        again = await tokens.owner(token)
        await asyncio.sleep(0.12)
        return [first, again, await tokens.owner(token)]

    assert asyncio.run(twice("nobody")) == [None, None, None]
    assert asyncio.run(twice("token-of-alice-0123456789")) == ["alice", "alice", "alice"]
    assert tokens.hub_requests == 4


def test_a_hub_that_cannot_answer_is_a_503_to_retry_never_a_pass():
    hub_api = ServerThread(fake_hub("http://127.0.0.1:10101")).start()
    protected = behind_hub_check(hub_api)
    try:
        response = httpx.get(protected.base_url + "/models", headers=bearer("token-that-breaks-the-hub"), timeout=5)
        assert response.status_code == 503 and response.headers["retry-after"] == "2"
        assert response.json()["error"]["code"] == "service_unavailable"
        hub_api.stop()
        response = httpx.get(protected.base_url + "/models", headers=bearer("token-of-bob-0123456789ab"), timeout=10)
        assert response.status_code == 503
    finally:
        protected.stop()
        hub_api.stop()


def test_the_index_is_open_and_the_proxys_prefix_is_taken_off(protected):
    assert httpx.get(protected.root_url + "/", timeout=5).status_code == 200
    assert httpx.get(protected.root_url + "/services/practice/", timeout=5).status_code == 200
    models = httpx.get(protected.root_url + "/services/practice/v1/models",
                       headers=bearer("token-of-alice-0123456789"), timeout=5)
    assert models.status_code == 200 and models.json()["data"][0]["id"] == "practice"
    assert httpx.get(protected.root_url + "/services/practice/v1/models", timeout=5).status_code == 401


def test_serve_jupyterhub_refuses_without_the_hubs_environment_or_with_a_shared_key(monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_API_URL", raising=False)
    with pytest.raises(RefusedToStart, match="JUPYTERHUB_API_URL"):
        serve(jupyterhub=True)
    monkeypatch.setenv("JUPYTERHUB_API_URL", "http://127.0.0.1:9/hub/api")
    with pytest.raises(RefusedToStart, match="drop --api-key"):
        serve(jupyterhub=True, api_key="shared")


# --- the helpers: finding the service with nothing set ----------------------------------------


@pytest.fixture
def on_hub(hub_api, monkeypatch):
    """A kernel's environment on JupyterHub, with no OPENAI_* set (the root conftest sets them)."""
    monkeypatch.setattr(hub, "_answers", {})
    for name in ("OPENAI_BASE_URL", "OPENAI_API_KEY", "OPENAI_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("JUPYTERHUB_API_URL", hub_api.root_url + "/hub/api")
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "token-of-alice-0123456789")
    monkeypatch.chdir(os.path.dirname(__file__))  # no .env above tests/
    calls = hub_api.app.state.calls
    calls.clear()
    return calls


def test_settings_use_the_hubs_service_and_the_servers_own_token(on_hub):
    settings = helpers.settings()
    assert settings.base_url == "http://127.0.0.1:10101/v1"
    assert settings.api_key == "token-of-alice-0123456789"
    assert settings.sources["base_url"] == "JupyterHub service 'practice'"
    assert "JUPYTERHUB_API_TOKEN" in settings.sources["api_key"]
    described = settings.describe()
    assert "token-of-alice" not in described and "token-of-alice" not in repr(settings)
    helpers.settings()
    assert on_hub.count("service") == 1  # remembered for a minute


def test_the_hub_token_never_goes_to_a_server_named_elsewhere(on_hub, monkeypatch):
    assert helpers.settings(base_url="http://localhost:11434/v1").api_key == "not-needed"
    assert helpers.settings(preset="ollama").api_key == "ollama"
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:8080/v1")
    assert helpers.settings().api_key == "not-needed"
    assert on_hub == []  # the hub was not even asked


def test_the_hubs_key_goes_with_its_url_and_other_settings_still_apply(on_hub, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-meant-for-another-server-000")
    monkeypatch.setenv("OPENAI_MODEL", "gpt-4o-mini")
    settings = helpers.settings()
    assert settings.api_key == "token-of-alice-0123456789" and settings.model == "gpt-4o-mini"
    assert helpers.settings(api_key="given").api_key == "given"


@pytest.mark.parametrize("token,expected", [
    ("token-of-bob-0123456789ab", "read:services!service=practice"),  # the default server token: 404
    ("token-reading-names-only", "has no URL this server may read"),
])
def test_a_hub_that_hides_the_service_leaves_the_defaults_and_says_why(on_hub, monkeypatch, token, expected):
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", token)
    settings = helpers.settings()
    assert settings.base_url == "http://localhost:1337/v1" and settings.api_key == "not-needed"
    assert any(expected in warning for warning in settings.warnings), settings.warnings
    assert token not in " ".join(settings.warnings)


def test_a_hub_that_does_not_answer_is_a_warning_not_an_error(on_hub, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_API_URL", f"http://127.0.0.1:{free_port()}/hub/api")
    settings = helpers.settings()
    assert settings.base_url == "http://localhost:1337/v1"
    assert any("did not answer" in warning for warning in settings.warnings)
