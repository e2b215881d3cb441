"""With DEBUG off the settings refuse what is only safe on a laptop, naming the setting."""

from __future__ import annotations

import base64
import json
import secrets
import socket
import subprocess
import sys

import pytest
from django.contrib.auth.models import User
from django.core.exceptions import ImproperlyConfigured
from django.core.management import CommandError, call_command
from django.test import override_settings

from tests.deploy.production_env import ROOT, production_environ, settings_load

PUBLISHED_API_KEY = "Lp0g+cwb19eEfTn1YIOydEnqPcZOg8YxHctnMe+1cQA="
PUBLISHED_API_SECRET = "uC8fVXzXMyaw1PseV452i6ozQwIIa4olcSpjuvn5E4E="
OTHER_SECRET = base64.b64encode(secrets.token_bytes(32)).decode()


def test_production_environment_starts_with_https_safe_defaults(monkeypatch):
    loaded = settings_load(monkeypatch)

    assert loaded["DEBUG"] is False and loaded["SANDBOX_ENABLED"] is False
    assert loaded["SECURE_SSL_REDIRECT"] is True
    assert loaded["SESSION_COOKIE_SECURE"] is True
    assert loaded["CSRF_COOKIE_SECURE"] is True
    assert loaded["SECURE_HSTS_SECONDS"] == 31536000
    assert loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert loaded["SECURE_HSTS_PRELOAD"] is True
    assert loaded["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_PROTO", "https")


def test_local_development_gets_plain_http_and_the_development_defaults(monkeypatch):
    loaded = settings_load(
        monkeypatch, DEBUG="true", SECRET_KEY=None, POMELO_BASE_URL=None, POMELO_CLIENT_ID=None,
        POMELO_CLIENT_SECRET=None, POMELO_WEBHOOK_KEYS=json.dumps({PUBLISHED_API_KEY: PUBLISHED_API_SECRET}),
        SECURE_PROXY_SSL_HEADER=None,
    )

    assert (loaded["SECURE_SSL_REDIRECT"], loaded["SESSION_COOKIE_SECURE"], loaded["CSRF_COOKIE_SECURE"]) == (
        False, False, False,
    )
    assert (loaded["SECURE_HSTS_SECONDS"], loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"]) == (0, False)
    assert loaded["SECURE_HSTS_PRELOAD"] is False and loaded["SECURE_PROXY_SSL_HEADER"] is None


def test_each_https_setting_can_be_set_from_the_environment(monkeypatch):
    loaded = settings_load(
        monkeypatch, SECURE_SSL_REDIRECT="false", SESSION_COOKIE_SECURE="false", CSRF_COOKIE_SECURE="false",
        SECURE_HSTS_SECONDS="600", SECURE_HSTS_INCLUDE_SUBDOMAINS="false", SECURE_HSTS_PRELOAD="false",
        SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_SCHEME,https",
    )

    assert (loaded["SECURE_SSL_REDIRECT"], loaded["SESSION_COOKIE_SECURE"], loaded["CSRF_COOKIE_SECURE"]) == (
        False, False, False,
    )
    assert (loaded["SECURE_HSTS_SECONDS"], loaded["SECURE_HSTS_INCLUDE_SUBDOMAINS"]) == (600, False)
    assert loaded["SECURE_HSTS_PRELOAD"] is False
    assert loaded["SECURE_PROXY_SSL_HEADER"] == ("HTTP_X_FORWARDED_SCHEME", "https")


@pytest.mark.parametrize("value", ["X-Forwarded-Proto", "HTTP_X_FORWARDED_PROTO", "X_FORWARDED_PROTO,https"])
def test_a_malformed_proxy_header_is_refused(monkeypatch, value):
    with pytest.raises(ImproperlyConfigured, match="SECURE_PROXY_SSL_HEADER"):
        settings_load(monkeypatch, SECURE_PROXY_SSL_HEADER=value)


@pytest.mark.parametrize(
    "secret_key",
    [
        None,  # unset: the built-in development key
        "",
        "change-me-to-a-long-random-string",  # the .env.example placeholder
        "too-short-" + secrets.token_hex(8),
        "django-insecure-" + secrets.token_urlsafe(48),  # what startproject generates
        "ab" * 40,  # long, but two distinct characters
    ],
    ids=["unset", "empty", "placeholder", "short", "django-insecure", "two-characters"],
)
def test_a_development_or_weak_secret_key_is_refused(monkeypatch, secret_key):
    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        settings_load(monkeypatch, SECRET_KEY=secret_key)


@pytest.mark.parametrize(
    "webhook_keys",
    [
        {PUBLISHED_API_KEY: PUBLISHED_API_SECRET},
        {"live-api-key": OTHER_SECRET, PUBLISHED_API_KEY: PUBLISHED_API_SECRET},  # among real ones
        {PUBLISHED_API_KEY: OTHER_SECRET},  # the published api-key with another secret
        {"renamed-key": PUBLISHED_API_SECRET},  # the published secret under another api-key
    ],
    ids=["the-pair", "among-real-pairs", "published-api-key", "published-secret"],
)
def test_pomelos_published_test_key_pair_is_refused(monkeypatch, webhook_keys):
    with pytest.raises(ImproperlyConfigured, match="POMELO_WEBHOOK_KEYS holds Pomelo's published test"):
        settings_load(monkeypatch, POMELO_WEBHOOK_KEYS=json.dumps(webhook_keys))


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("POMELO_BASE_URL", "http://api.pomelo.la"),
        ("POMELO_BASE_URL", None),  # the default: the stand-in on loopback
        ("POMELO_TOKEN_URL", "http://auth.pomelo.la/oauth/token"),
        ("POMELO_TOKEN_REVOKE_URL", "http://auth.pomelo.la/oauth/token/revoke"),
        ("POMELO_TOKEN_URL", "https://"),
    ],
)
def test_pomelo_urls_must_be_https(monkeypatch, name, value):
    with pytest.raises(ImproperlyConfigured, match=f"{name} must be an https:// URL"):
        settings_load(monkeypatch, **{name: value})


@pytest.mark.parametrize("name", ["POMELO_CLIENT_ID", "POMELO_CLIENT_SECRET"])
@pytest.mark.parametrize("value", [None, "", "   "])
def test_pomelo_client_credentials_are_required(monkeypatch, name, value):
    with pytest.raises(ImproperlyConfigured, match=f"{name} is empty"):
        settings_load(monkeypatch, **{name: value})


def test_the_sandbox_lifts_only_the_pomelo_rules(monkeypatch):
    stand_in = {
        "SANDBOX_ENABLED": "true", "POMELO_BASE_URL": "http://127.0.0.1:8765", "POMELO_CLIENT_ID": None,
        "POMELO_CLIENT_SECRET": None,
    }
    assert settings_load(monkeypatch, **stand_in)["POMELO_BASE_URL"] == "http://127.0.0.1:8765"

    with pytest.raises(ImproperlyConfigured, match="SECRET_KEY"):
        settings_load(monkeypatch, **stand_in, SECRET_KEY=None)
    with pytest.raises(ImproperlyConfigured, match="POMELO_WEBHOOK_KEYS"):
        settings_load(
            monkeypatch, **stand_in, POMELO_WEBHOOK_KEYS=json.dumps({PUBLISHED_API_KEY: PUBLISHED_API_SECRET})
        )


def test_every_problem_is_listed_at_once(monkeypatch):
    with pytest.raises(ImproperlyConfigured) as raised:
        settings_load(
            monkeypatch, SECRET_KEY=None, POMELO_BASE_URL="http://api.pomelo.la", POMELO_CLIENT_ID=""
        )

    for name in ("SECRET_KEY", "POMELO_BASE_URL", "POMELO_TOKEN_URL", "POMELO_CLIENT_ID"):
        assert name in str(raised.value)
    assert "POMELO_CLIENT_SECRET" not in str(raised.value)


def test_manage_py_refuses_to_start_and_names_the_setting():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env=production_environ(SECRET_KEY=None, POMELO_BASE_URL="http://127.0.0.1:8765"),
    )

    assert result.returncode != 0
    assert "ImproperlyConfigured: Refusing to start with DEBUG off" in result.stderr
    assert "SECRET_KEY is the built-in development key" in result.stderr
    assert "POMELO_BASE_URL must be an https:// URL" in result.stderr


# --- the sandbox's own commands ---------------------------------------------------------------


@pytest.fixture
def busy_port():
    """A port taken but not listening: servers cannot bind it and clients are refused at once,
    so a command that ignored the guard would stop quickly instead of serving."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("command", "arguments"),
    [
        ("run_demo", ["--pomelo-port", "{port}", "--port", "{port}"]),
        ("run_sandbox_pomelo", ["--port", "{port}"]),
        ("simulate_card_traffic", ["--backoffice-url", "http://127.0.0.1:{port}", "--pomelo-url",
                                   "http://127.0.0.1:{port}", "--members", "1", "--transactions", "1"]),
    ],
)
def test_sandbox_commands_refuse_without_sandbox_enabled(busy_port, command, arguments):
    users_before = User.objects.count()
    with override_settings(SANDBOX_ENABLED=False, POMELO_WEBHOOK_KEYS={"k": b"s" * 32}):
        with pytest.raises(CommandError, match="SANDBOX_ENABLED"):
            call_command(command, *[a.format(port=busy_port) for a in arguments])
    # run_demo would have created its demo staff, superuser included.
    assert User.objects.count() == users_before
