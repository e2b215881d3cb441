"""Django's technical 500 page (DEBUG) and error report never show a secret."""

from __future__ import annotations

import base64
import secrets
import socket
import sys

import pytest
from django.core.cache import cache
from django.test import RequestFactory, override_settings
from django.views.debug import ExceptionReporter, technical_500_response

from pomelo import PomeloClient, PomeloUnavailable

DATABASE_URL = f"postgres://loyalty:db-{secrets.token_hex(8)}@db.internal:5432/loyalty_backoffice"
CACHE_URL = f"redis://:cache-{secrets.token_hex(8)}@cache.internal:6379/1"
SENTRY_DSN = f"https://{secrets.token_hex(16)}@o1.ingest.sentry.io/42"
BROKER = f"amqp://worker:broker-{secrets.token_hex(8)}@mq.internal:5672/"
CLIENT_SECRET = "client-secret-" + secrets.token_hex(8)
WEBHOOK_SECRET = secrets.token_bytes(32)
WEBHOOK_SECRET_B64 = base64.b64encode(WEBHOOK_SECRET).decode()


def rendered_pages(request, exc_info) -> list[str]:
    """The HTML page a developer sees and the plain-text report sent to admins."""
    html = technical_500_response(request, *exc_info).content.decode()
    text = ExceptionReporter(request, *exc_info, is_email=True).get_traceback_text()
    return [html, text]


@pytest.fixture
def debug_settings():
    with override_settings(
        DEBUG=True,
        DATABASE_URL=DATABASE_URL,  # some deployments keep the strings as settings too
        CACHE_URL=CACHE_URL,
        SENTRY_DSN=SENTRY_DSN,
        CELERY_BROKER=BROKER,  # a connection string under a name nobody foresaw
        POMELO_CLIENT_SECRET=CLIENT_SECRET,
        POMELO_WEBHOOK_KEYS={"live-api-key": WEBHOOK_SECRET},
        CACHES={
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
            "shared": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL},
        },
    ):
        yield


def fail_with_secrets_in_locals():
    database_url = DATABASE_URL  # noqa: F841 (shown on the page as a local)
    connection = {"dsn": SENTRY_DSN, "broker": BROKER}  # noqa: F841
    signing_material = WEBHOOK_SECRET  # noqa: F841
    raise RuntimeError("boom")


def test_settings_environment_and_locals_hide_connection_strings_and_secrets(debug_settings):
    # runserver copies the process environment into request.META.
    request = RequestFactory().get(
        "/admin/", DATABASE_URL=DATABASE_URL, CACHE_URL=CACHE_URL, SENTRY_DSN=SENTRY_DSN,
        POMELO_CLIENT_SECRET=CLIENT_SECRET, POMELO_WEBHOOK_KEYS=f'{{"live-api-key": "{WEBHOOK_SECRET_B64}"}}',
    )
    try:
        fail_with_secrets_in_locals()
    except RuntimeError:
        pages = rendered_pages(request, sys.exc_info())

    for page in pages:
        # The page is the real one: it lists those settings and that frame, with values hidden.
        assert "fail_with_secrets_in_locals" in page and "SENTRY_DSN" in page and "CELERY_BROKER" in page
        for secret in (DATABASE_URL, CACHE_URL, SENTRY_DSN, BROKER, CLIENT_SECRET, WEBHOOK_SECRET_B64,
                       repr(WEBHOOK_SECRET)[2:-1]):
            assert secret not in page
        for password in (DATABASE_URL, CACHE_URL, BROKER):
            assert password.split(":")[2].split("@")[0] not in page


@pytest.fixture
def closed_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def test_failed_token_request_page_hides_the_client_secret(debug_settings, closed_port):
    # Pomelo unreachable: requests' and urllib3's frames hold the token request's body.
    with override_settings(
        POMELO_TOKEN_URL=f"http://127.0.0.1:{closed_port}/oauth/token", POMELO_MAX_RETRIES=0,
    ):
        cache.clear()
        try:
            PomeloClient.from_settings().balance(user_id="usr-1")
        except PomeloUnavailable:
            pages = rendered_pages(RequestFactory().get("/admin/"), sys.exc_info())

    for page in pages:
        assert "urlopen" in page  # the library frames are on the page
        assert CLIENT_SECRET not in page


def test_failed_api_call_page_hides_the_bearer_token(debug_settings, sandbox_pomelo, closed_port):
    sandbox_pomelo.add_member("usr-1", ["crd-1"])
    client = PomeloClient.from_settings()
    client.balance(user_id="usr-1")  # a token is now cached
    token = client.tokens.get_token()
    client.base_url = f"http://127.0.0.1:{closed_port}"
    client.max_retries = 0
    try:
        client.balance(user_id="usr-1")
    except PomeloUnavailable:
        pages = rendered_pages(RequestFactory().get("/admin/"), sys.exc_info())

    for page in pages:
        assert "urlopen" in page
        assert token not in page
