import base64
import json
import os
import time
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import connection

from webhooks.signature import signature_compute

pytest_plugins = ["tests.pomelo_fixtures", "tests.append_only_flush"]

# Pomelo's published test pair (its documentation's example), not a real credential.
TEST_API_KEY = "Lp0g+cwb19eEfTn1YIOydEnqPcZOg8YxHctnMe+1cQA="
TEST_API_SECRET = "uC8fVXzXMyaw1PseV452i6ozQwIIa4olcSpjuvn5E4E="

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def pytest_sessionstart(session):
    engine = settings.DATABASES["default"]["ENGINE"]
    if IN_CI and "postgresql" not in engine:
        pytest.exit(f"CI must run on PostgreSQL (DATABASE_URL), got {engine}", returncode=3)


@pytest.fixture(autouse=True)
def _postgres_only(request):
    """Tests marked `postgres` need row locks and triggers: skipped on SQLite, failed in CI."""
    if request.node.get_closest_marker("postgres") is None:
        return
    if connection.vendor != "postgresql":
        if IN_CI:
            pytest.fail("test needs PostgreSQL and CI must provide it")
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://… to run it")


@pytest.fixture(autouse=True)
def _tasks_in_process(settings):
    """Production queues tasks in the database for a worker; tests run them in-process (after
    the commit), unless a test chooses another backend."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@pytest.fixture(autouse=True)
def _webhook_settings(settings):
    settings.POMELO_WEBHOOK_KEYS = {TEST_API_KEY: base64.b64decode(TEST_API_SECRET)}
    settings.POMELO_WEBHOOK_ALLOWED_IPS = []
    settings.POMELO_WEBHOOK_TOLERANCE_SECONDS = 300
    settings.POMELO_ACCOUNT_TYPES = ["points", "cashback", "miles"]


WEBHOOK_PATHS = {
    "pending": "/webhooks/pomelo/loyalty/pending",
    "confirmation": "/webhooks/pomelo/loyalty/confirmation",
    "cancellation": "/webhooks/pomelo/loyalty/cancellation",
}


def signed_headers(
    body: bytes, endpoint: str, *, timestamp: int | None = None, api_key: str = TEST_API_KEY,
    secret: str = TEST_API_SECRET,
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    signature = signature_compute(
        key=base64.b64decode(secret), timestamp=ts, endpoint=endpoint, body=body
    )
    return {"x-api-key": api_key, "x-signature": signature, "x-timestamp": ts,
            "x-endpoint": endpoint}


def notification_body(kind: str, tx: str, *, amount="10.00", user="usr-1", account_type="points",
                      card="crd-1", key: str | None = None, **extra) -> dict:
    body = {
        "event_id": f"loyalty-{kind}",
        "idempotency_key": key or f"{tx}-{account_type}-{kind}",
        "user_id": user,
        "card_id": card,
        "transaction_id": tx,
        "account_type": account_type,
        "amount": amount,
    }
    body.update(extra)
    return {k: v for k, v in body.items() if v is not None}


class WebhookSender:
    """Posts signed notifications through Django's test client (the real view and middleware)."""

    def __init__(self, client):
        self.client = client

    def post(self, kind: str, payload, *, raw: bytes | None = None, headers=None,
             path: str | None = None):
        path = path or WEBHOOK_PATHS[kind]
        body = raw if raw is not None else json.dumps(payload, default=str).encode()
        sent = signed_headers(body, path)
        sent.update(headers or {})
        return self.client.generic("POST", path, body, content_type="application/json",
                                   headers=sent)


@pytest.fixture
def webhook(client) -> WebhookSender:
    return WebhookSender(client)


def balances(user: str = "usr-1", account_type: str = "points") -> tuple[Decimal, Decimal]:
    from accounts.models import RewardAccount

    account = RewardAccount.objects.filter(
        member__pomelo_user_id=user, account_type=account_type
    ).first()
    if account is None:
        return Decimal("0"), Decimal("0")
    return account.pending_balance, account.available_balance


@pytest.fixture
def make_staff(db):
    """Create a staff user in one of the roles the migration defines."""
    from django.contrib.auth.models import Group, Permission, User

    from kernel.roles import roles_sync

    # Transactional tests flush the tables, groups from the data migration included.
    roles_sync(group_model=Group, permission_model=Permission)

    def make(username: str, role: str) -> User:
        user = User.objects.create_user(username, password="pw-" + username, is_staff=True)
        user.groups.add(Group.objects.get(name=role))
        return User.objects.get(pk=user.pk)  # fresh, so permission caches are empty

    return make
