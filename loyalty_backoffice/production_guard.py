"""Settings the back office refuses to start with when DEBUG is off.

Each of these has a working default for a laptop, and each would quietly hand money or data to
a stranger in production: a known signing key forges sessions and password-reset links, the
webhook key pair Pomelo publishes for testing lets anyone sign a reward notification, and a
plain-HTTP Pomelo URL sends the client secret and bearer tokens in the clear. Refusing to start
is louder than a `check --deploy` warning that nobody runs.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ImproperlyConfigured

# The key settings.py falls back on when SECRET_KEY is unset: fine for DEBUG, never otherwise.
DEVELOPMENT_SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105 (refused, not used)
# Placeholders shipped in .env.example: copying the file must not produce a "real" key.
PLACEHOLDER_SECRET_KEYS = frozenset({DEVELOPMENT_SECRET_KEY, "change-me-to-a-long-random-string"})
# Django's own bar for a key (`check --deploy`, security.W009).
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE_CHARACTERS = 5

# Pomelo publishes this webhook key pair in its documentation's examples; anyone can sign with it.
POMELO_PUBLISHED_TEST_API_KEY = "Lp0g+cwb19eEfTn1YIOydEnqPcZOg8YxHctnMe+1cQA="
POMELO_PUBLISHED_TEST_API_SECRET = "uC8fVXzXMyaw1PseV452i6ozQwIIa4olcSpjuvn5E4E="  # noqa: S105 (public)


def production_settings_problems(
    *,
    debug: bool,
    sandbox_enabled: bool,
    secret_key: str,
    webhook_keys: Mapping[str, bytes],
    pomelo_urls: Mapping[str, str],
    pomelo_client_id: str,
    pomelo_client_secret: str,
    database_url_set: bool = True,
    allowed_hosts_set: bool = True,
    csrf_trusted_origins: Sequence[str] = ("https://unset.invalid",),
    tasks_backend: str = "django_tasks_db.DatabaseBackend",
) -> list[str]:
    """What is unsafe about these settings for a deployment; empty when DEBUG is on.

    `pomelo_urls` maps each setting name (POMELO_BASE_URL, POMELO_TOKEN_URL, …) to its value:
    every one of them carries credentials or bearer tokens, so every one must be HTTPS.
    """
    if debug:
        return []
    problems = []
    problems.extend(_deployment_problems(
        database_url_set=database_url_set, allowed_hosts_set=allowed_hosts_set,
        csrf_trusted_origins=csrf_trusted_origins, tasks_backend=tasks_backend,
    ))
    problems.extend(_secret_key_problems(secret_key))
    problems.extend(_webhook_key_problems(webhook_keys))
    if not sandbox_enabled:
        # Talking to the stand-in (make run, the tests, the demo) is plain HTTP on loopback
        # with made-up credentials; anything else is the real Pomelo.
        for name, url in pomelo_urls.items():
            parts = urlsplit(url)
            if parts.scheme.lower() != "https" or not parts.hostname:
                problems.append(
                    f"{name} must be an https:// URL of Pomelo (got {url!r}): it carries the "
                    "client secret or bearer tokens. SANDBOX_ENABLED=true is for the stand-in only."
                )
        for name, value in (
            ("POMELO_CLIENT_ID", pomelo_client_id),
            ("POMELO_CLIENT_SECRET", pomelo_client_secret),
        ):
            if not value.strip():
                problems.append(f"{name} is empty: set the OAuth client credentials Pomelo issued.")
    return problems


def production_settings_refuse(**settings_values: Any) -> None:
    """Raise ImproperlyConfigured naming every unsafe setting (see production_settings_problems)."""
    problems = production_settings_problems(**settings_values)
    if problems:
        raise ImproperlyConfigured(
            "Refusing to start with DEBUG off:\n"
            + "\n".join(f"- {problem}" for problem in problems)
            + "\nFor local development set DEBUG=true (make run does)."
        )


# Backends that run a task inside the process that queued it: a web request would wait on Pomelo,
# and a crash would lose the task.
IN_PROCESS_TASK_BACKENDS = frozenset({
    "django_tasks.backends.immediate.ImmediateBackend",
    "django_tasks.backends.dummy.DummyBackend",
    "django.tasks.backends.immediate.ImmediateBackend",
    "django.tasks.backends.dummy.DummyBackend",
})


def _deployment_problems(
    *, database_url_set: bool, allowed_hosts_set: bool, csrf_trusted_origins: Sequence[str],
    tasks_backend: str,
) -> list[str]:
    """Settings whose laptop default would quietly misbehave in a deployment."""
    problems = []
    if not database_url_set:
        problems.append("DATABASE_URL is not set: without it the app would write to a local SQLite "
                        "file. Point it at PostgreSQL (postgres://user:password@host:5432/name).")
    if not allowed_hosts_set:
        problems.append("ALLOWED_HOSTS is not set: list the host names the back office is served "
                        "under (probes on /healthz and /readyz need none).")
    if not [origin for origin in csrf_trusted_origins if origin.strip()]:
        problems.append("CSRF_TRUSTED_ORIGINS is not set: behind a TLS proxy every sign-in fails "
                        "with 'Origin checking failed'. Set it to https://<the public host>.")
    if tasks_backend in IN_PROCESS_TASK_BACKENDS:
        problems.append(f"TASKS_BACKEND is {tasks_backend}, which runs tasks inside the web "
                        "request: use django_tasks_db.DatabaseBackend and run the worker.")
    return problems


def _secret_key_problems(secret_key: str) -> list[str]:
    if secret_key in PLACEHOLDER_SECRET_KEYS:
        return ["SECRET_KEY is the built-in development key or the .env.example placeholder."]
    if secret_key.startswith("django-insecure"):
        return ["SECRET_KEY starts with 'django-insecure': generate a new one for this deployment."]
    if len(secret_key) < SECRET_KEY_MIN_LENGTH or len(set(secret_key)) < SECRET_KEY_MIN_UNIQUE_CHARACTERS:
        return [
            f"SECRET_KEY is empty or too weak: use at least {SECRET_KEY_MIN_LENGTH} random "
            f"characters (e.g. python -c 'import secrets; print(secrets.token_urlsafe(64))')."
        ]
    return []


def _webhook_key_problems(webhook_keys: Mapping[str, bytes]) -> list[str]:
    published_secret = base64.b64decode(POMELO_PUBLISHED_TEST_API_SECRET)
    if any(
        api_key == POMELO_PUBLISHED_TEST_API_KEY or secret == published_secret
        for api_key, secret in webhook_keys.items()
    ):
        return [
            "POMELO_WEBHOOK_KEYS holds Pomelo's published test key pair: anyone can sign webhooks "
            "with it. Use only the pairs Pomelo issued for this environment."
        ]
    return []
