"""Settings resolution, URL mistakes explained, and the key kept out of sight."""

from __future__ import annotations

import pytest

import helpers
from helpers import config

SECRET = "sk-test-" + "A1b2C3d4E5f6G7h8I9j0"


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No OPENAI_* variables, and a working directory with no .env above it."""
    for name in config.ENV_NAMES.values():
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(config, "find_dotenv", lambda usecwd=True: "")
    return tmp_path


def test_defaults_are_the_practice_server(clean_env):
    s = helpers.settings()
    assert (s.base_url, s.api_key, s.model) == (config.PRACTICE_BASE_URL, config.PLACEHOLDER_KEY, "practice")
    assert s.sources["base_url"] == "practice-server default" and "placeholder" in s.sources["api_key"]


def test_order_arguments_environment_dotenv_default(clean_env, monkeypatch):
    dotenv = clean_env / ".env"
    dotenv.write_text("OPENAI_BASE_URL=http://localhost:8080/v1\nOPENAI_MODEL=from-dotenv\nOPENAI_API_KEY=dotenv-key\n")
    monkeypatch.setattr(config, "find_dotenv", lambda usecwd=True: str(dotenv))
    monkeypatch.setenv("OPENAI_MODEL", "from-env")
    s = helpers.settings(api_key="argument-key")
    assert s.base_url == "http://localhost:8080/v1" and s.sources["base_url"].startswith(".env")
    assert s.model == "from-env" and s.sources["model"] == "environment (OPENAI_MODEL)"
    assert s.api_key == "argument-key" and s.sources["api_key"] == "argument"


def test_presets(clean_env, monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://elsewhere:1/v1")
    s = helpers.settings(preset="ollama")
    assert s.base_url == "http://localhost:11434/v1" and s.sources["base_url"] == "preset 'ollama'"
    assert {"practice", "gpt4free", "openai", "ollama", "lmstudio", "llamacpp", "vllm"} <= set(helpers.PRESETS)
    with pytest.raises(helpers.ConfigError, match="choose one of"):
        helpers.settings(preset="nope")


def test_missing_v1_is_explained(clean_env):
    s = helpers.settings(base_url="http://localhost:1337")
    assert s.base_url == "http://localhost:1337"
    assert any("/v1" in w and "404" in w and "http://localhost:1337/v1" in w for w in s.warnings)
    assert "warning:" in s.describe()


def test_chat_completions_suffix_is_refused_with_the_fix(clean_env):
    with pytest.raises(helpers.ConfigError, match=r"Use 'http://localhost:1337/v1'"):
        helpers.settings(base_url="http://localhost:1337/v1/chat/completions")


def test_https_on_localhost_is_explained(clean_env):
    s = helpers.settings(base_url="https://localhost:1337/v1")
    assert any("plain http" in w for w in s.warnings)


def test_no_scheme_is_refused(clean_env):
    with pytest.raises(helpers.ConfigError, match="http://"):
        helpers.settings(base_url="localhost:1337/v1")


def test_openai_needs_a_real_key(clean_env):
    with pytest.raises(helpers.ConfigError, match="OPENAI_API_KEY"):
        helpers.settings(base_url="https://api.openai.com/v1")


def test_empty_key_falls_back_to_a_placeholder(clean_env, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "")
    assert helpers.settings().api_key == config.PLACEHOLDER_KEY
    helpers.client()  # the openai client accepts it


def test_the_key_never_shows(clean_env):
    s = helpers.settings(api_key=SECRET)
    for text in (repr(s), str(s), s.describe(), repr(helpers.client(s).api_key is not None)):
        assert SECRET not in text
    assert config.mask(SECRET).startswith("sk-") and len(config.mask(SECRET)) < 8
    assert SECRET not in config.redact(f"bad key {SECRET} and sk-otherkey12345678", SECRET)


def test_client_timeouts(clean_env):
    client = helpers.client()
    assert client.timeout.connect == config.CONNECT_TIMEOUT and client.timeout.read == config.READ_TIMEOUT
    assert helpers.client(timeout=5).timeout.read == 5
