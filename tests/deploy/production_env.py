"""A production-like environment, and a way to load the real settings module under it.

The values mirror the README's "Running in production" section: DEBUG off, a random secret
key, Pomelo over HTTPS with client credentials, our own webhook key pair, real hosts, and a
proxy that terminates TLS.
"""

from __future__ import annotations

import base64
import json
import os
import runpy
import secrets
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SETTINGS_FILE = ROOT / "loyalty_backoffice" / "settings.py"

# Values a test can look for on an error page: none may ever be shown.
DATABASE_PASSWORD = "db-" + secrets.token_hex(12)
CACHE_PASSWORD = "cache-" + secrets.token_hex(12)
CLIENT_SECRET = "client-secret-" + secrets.token_hex(12)
WEBHOOK_SECRET = base64.b64encode(secrets.token_bytes(32)).decode()

PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECRET_KEY": secrets.token_urlsafe(64),
    "ALLOWED_HOSTS": "backoffice.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://backoffice.example.com",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    "DATABASE_URL": f"postgres://loyalty:{DATABASE_PASSWORD}@db.internal:5432/loyalty_backoffice",
    "DATABASE_CONN_MAX_AGE": "60",
    "CACHE_URL": f"redis://:{CACHE_PASSWORD}@cache.internal:6379/1",
    "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
    "POMELO_BASE_URL": "https://api.pomelo.la",
    "POMELO_CLIENT_ID": "client-id-issued-by-pomelo",
    "POMELO_CLIENT_SECRET": CLIENT_SECRET,
    "POMELO_AUDIENCE": "https://api.pomelo.la",
    "POMELO_WEBHOOK_KEYS": json.dumps({"live-api-key": WEBHOOK_SECRET}),
}

# Everything the test run itself puts in the environment (tests/settings.py) that would
# otherwise leak into a "production" load.
_CLEARED_PREFIXES = ("POMELO_", "SECURE_", "SESSION_", "CSRF_", "DATABASE_", "CACHE_")
_CLEARED_NAMES = ("DEBUG", "SANDBOX_ENABLED", "SECRET_KEY", "ALLOWED_HOSTS", "TASKS_BACKEND")


def production_environ(**overrides: str | None) -> dict[str, str]:
    """A minimal process environment: PATH, HOME and PRODUCTION_ENV with `overrides`
    (None removes a variable)."""
    env = {name: os.environ[name] for name in ("PATH", "HOME", "LANG") if name in os.environ}
    env.update(PRODUCTION_ENV)
    for name, value in overrides.items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    return env


def settings_load(monkeypatch: pytest.MonkeyPatch, **overrides: str | None) -> dict[str, Any]:
    """Execute loyalty_backoffice/settings.py under PRODUCTION_ENV plus `overrides` and return
    its namespace; raises what the module raises (ImproperlyConfigured)."""
    for name in list(os.environ):
        if name.startswith(_CLEARED_PREFIXES) or name in _CLEARED_NAMES:
            monkeypatch.delenv(name)
    for name, value in {**PRODUCTION_ENV, **overrides}.items():
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    return runpy.run_path(str(SETTINGS_FILE))
