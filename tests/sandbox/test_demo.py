"""The `make run` demo: staff in every role, and members fed through the real webhooks."""

import base64

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.test import RequestFactory

from accounts.models import Member
from rewards.selectors import ledger_mismatches
from rewards.services.reconciliation import reconciliation_run
from sandbox.demo import DEMO_USERS, demo_data_load, demo_users_reset


@pytest.mark.django_db
def test_demo_users_get_their_roles_and_a_fresh_password():
    first = demo_users_reset()
    second = demo_users_reset()
    assert first != second
    # Sign-in throttling needs the request (its address) of every authentication.
    request = RequestFactory().post("/admin/login/")
    for username, role in DEMO_USERS:
        user = authenticate(request, username=username, password=second)
        assert user is not None and user.is_staff
        assert user.is_superuser is (role is None)
        assert list(user.groups.values_list("name", flat=True)) == ([role] if role else [])
    assert authenticate(request, username="agent", password=first) is None
    assert User.objects.count() == len(DEMO_USERS)


@pytest.mark.django_db(transaction=True)
def test_demo_data_arrives_through_the_webhooks_and_agrees_with_pomelo(live_server, sandbox_pomelo):
    api_key, secret = next(iter(settings.POMELO_WEBHOOK_KEYS.items()))
    report = demo_data_load(
        backoffice_url=live_server.url, pomelo_url=sandbox_pomelo.url, api_key=api_key,
        secret_b64=base64.b64encode(secret).decode(), members=8, transactions=40,
    )
    assert report.sent > 40 and set(report.statuses) == {200} and not report.errors
    assert Member.objects.count() <= 8
    assert not Member.objects.filter(name="").exists()
    assert ledger_mismatches() == []
    run = reconciliation_run(concurrency=2)
    assert (run.accounts_drifting, run.errors) == (0, 0)
