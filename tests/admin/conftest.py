"""Fixtures for the admin tests: staff in each role, a member fed through the webhooks, and
Pomelo's HTTP faked with `responses`."""

from dataclasses import dataclass

import pytest
import responses
from django.contrib.auth.models import Group, User
from django.core.cache import cache

from accounts.models import BalanceSnapshot, Member
from rewards.models import Adjustment, Approval, AuditEntry, LedgerEntry
from rewards.services.adjustments import adjustment_request
from tests.conftest import notification_body

POMELO = "https://pomelo.test"


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
    return Member.objects.create(pomelo_user_id="usr-nocard", name="No Card")


def make_request(maker, member, **overrides) -> Adjustment:
    fields = dict(maker=maker, member=member, card=member.cards.first(), account_type="points",
                  direction="credit", amount="25.00", reason_code="goodwill",
                  reason_text="late delivery")
    fields.update(overrides)
    return adjustment_request(**fields)


def as_user(client, user):
    client.force_login(user)
    return client


@dataclass(frozen=True)
class DatabaseState:
    adjustments: tuple
    approvals: int
    audit_entries: int
    ledger_entries: int
    snapshots: int


def database_state() -> DatabaseState:
    """What a refused action must leave exactly as it was."""
    return DatabaseState(
        adjustments=tuple(Adjustment.objects.order_by("pk").values_list(
            "pk", "state", "amount", "balance_override", "submit_attempts")),
        approvals=Approval.objects.count(),
        audit_entries=AuditEntry.objects.count(),
        ledger_entries=LedgerEntry.objects.count(),
        snapshots=BalanceSnapshot.objects.count(),
    )


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


BALANCE_URL = f"{POMELO}/loyalty/v1/accounts/balance"


def mint_url(account_type: str = "points") -> str:
    return f"{POMELO}/loyalty/v1/accounts/{account_type}/mint"


def burn_url(account_type: str = "points") -> str:
    return f"{POMELO}/loyalty/v1/accounts/{account_type}/burn"


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []
