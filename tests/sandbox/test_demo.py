"""The `make run` demo: staff in every role, and members fed through the real webhooks."""

import base64
import re

import pytest
from django.conf import settings
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.test import RequestFactory

from accounts.models import Member
from rewards.models import (
    Adjustment,
    Approval,
    AuditEntry,
    LedgerEntry,
    ReconciliationResult,
    ReconciliationRun,
    RewardEvent,
)
from rewards.selectors import ledger_mismatches
from sandbox.demo import DEMO_USERS, demo_data_load, demo_users_reset
from webhooks.models import Delivery


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


def _load(live_server, sandbox_pomelo):
    api_key, secret = next(iter(settings.POMELO_WEBHOOK_KEYS.items()))
    return demo_data_load(
        backoffice_url=live_server.url, pomelo_url=sandbox_pomelo.url, api_key=api_key,
        secret_b64=base64.b64encode(secret).decode(), members=8, transactions=40,
    )


def _counts() -> dict[str, int]:
    return {model.__name__: model.objects.count()
            for model in (Member, RewardEvent, LedgerEntry, Adjustment, Approval, AuditEntry,
                          Delivery, ReconciliationRun, ReconciliationResult)}


@pytest.mark.django_db(transaction=True)
def test_demo_data_arrives_through_the_webhooks_and_gives_every_role_work(
    live_server, sandbox_pomelo, client
):
    demo_users_reset()
    report = _load(live_server, sandbox_pomelo)
    traffic = report.traffic
    assert traffic.sent > 40 and set(traffic.statuses) == {200} and not traffic.errors
    assert Member.objects.count() <= 8
    assert not Member.objects.filter(name="").exists()
    assert ledger_mismatches() == []

    # Every state an adjustment can rest in; only "submitting" lasts no longer than a call.
    states = set(Adjustment.objects.values_list("state", flat=True))
    assert states == set(Adjustment.State.values) - {Adjustment.State.SUBMITTING}
    partly = Adjustment.objects.get(state="pending_approval", approvals_required=2)
    assert partly.approvals.count() == 1
    refused = Adjustment.objects.get(state="failed")
    assert refused.pomelo_status_code == 422 and "Pomelo refused it" in refused.failure_reason
    unknown = Adjustment.objects.get(state="outcome_unknown")
    assert unknown.submit_attempts == 1 and unknown.first_sent_at is not None

    flagged = Delivery.objects.get(outcome=Delivery.Outcome.FLAGGED)
    assert flagged.review and not RewardEvent.objects.filter(transaction_id=flagged.idempotency_key)
    failed = Delivery.objects.get(outcome=Delivery.Outcome.FAILED)
    assert "LedgerOverflow" in failed.detail and failed.attempts == 1

    # The drift: the member Pomelo holds less for (its debit refused), and the member whose
    # credit Pomelo applied while our outcome is unknown.
    run = ReconciliationRun.objects.latest("started_at")
    assert run.status == ReconciliationRun.Status.FINISHED and run.errors == 0
    drifting = {(r.member_id, r.account_type)
                for r in ReconciliationResult.objects.filter(run=run, drifting=True)}
    assert drifting == {(refused.member_id, "points"), (unknown.member_id, "points")}
    assert run.accounts_drifting == 2
    assert [a["id"] for a in run.unsettled_adjustments] == [unknown.pk]

    # Each demo login opens a home with at least one tile asking for action.
    for username, _role in DEMO_USERS:
        client.force_login(User.objects.get(username=username))
        page = client.get("/admin/").content.decode()
        assert re.search(r'class="op-tile op-(alert|attention)"', page), username

    before = _counts()
    again = _load(live_server, sandbox_pomelo)
    assert again.traffic.sent == 0 and not again.scenarios.adjustments
    assert _counts() == before
