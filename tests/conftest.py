import base64

import pytest
import responses
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from django.db import connection
from django.utils import translation

from accounts.models import Member
from tests.support.ci import IN_CI
from tests.support.factories import MemberFactory
from tests.support.pomelo_http import POMELO
from tests.support.webhooks import TEST_API_KEY, TEST_API_SECRET, WebhookSender, notification_body

pytest_plugins = ["tests.support.sandbox_pomelo", "tests.support.append_only_flush"]



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
def _language_reset():
    """A page in Spanish leaves its thread in Spanish, as in any Django process (the next
    request activates its own): each test starts and ends in LANGUAGE_CODE, so a message
    checked by one does not depend on the language of the page another rendered."""
    translation.activate(settings.LANGUAGE_CODE)
    yield
    translation.activate(settings.LANGUAGE_CODE)


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


@pytest.fixture
def webhook(client) -> WebhookSender:
    return WebhookSender(client)


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


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(make_staff):
    lead = make_staff("lead", "Support agent")
    lead.groups.add(Group.objects.get(name="Approver"))
    return {
        "lead": User.objects.get(pk=lead.pk),  # maker and checker: never of the same request
        "agent": make_staff("agent", "Support agent"),
        "agent2": make_staff("agent2", "Support agent"),
        "approver": make_staff("approver", "Approver"),
        "approver2": make_staff("approver2", "Approver"),
        "auditor": make_staff("auditor", "Finance auditor"),
        "admin": make_staff("administrator", "Administrator"),
    }


@pytest.fixture
def member(webhook):
    """usr-1 with card crd-1 (last four 4242) and 100.00 available points."""
    webhook.post("confirmation", notification_body("confirmation", "ctx-seed", amount="100.00",
                                                   card_last_four="4242"))
    return Member.objects.get(pomelo_user_id="usr-1")


@pytest.fixture
def member_without_card():
    return MemberFactory(pomelo_user_id="usr-nocard", name="No Card")


@pytest.fixture
def pomelo(settings):
    """Pomelo's HTTP API faked by `responses`: the token endpoint answers; tests add the rest."""
    settings.POMELO_BASE_URL = POMELO
    settings.POMELO_TOKEN_URL = f"{POMELO}/oauth/token"
    settings.POMELO_RETRY_BACKOFF_SECONDS = 0
    settings.POMELO_MAX_RETRIES = 1
    cache.clear()  # no token cached by an earlier test
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add(responses.POST, f"{POMELO}/oauth/token", json={"access_token": "t", "expires_in": 3600})
        yield mock
    cache.clear()


@pytest.fixture
def staff(make_staff):
    people = {
        "admin": make_staff("administrator", "Administrator"),
        "admin2": make_staff("administrator2", "Administrator"),
        "agent": make_staff("agent", "Support agent"),
        "approver": make_staff("approver", "Approver"),
        "auditor": make_staff("auditor", "Finance auditor"),
    }
    for user in people.values():
        User.objects.filter(pk=user.pk).update(email=f"{user.username}@example.test")
        user.refresh_from_db()
    people["operator"] = User.objects.create_superuser(
        "operator", "operator@example.test", "pw-operator")
    return people
