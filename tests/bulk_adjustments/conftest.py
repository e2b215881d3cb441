"""Fixtures of the bulk tests: staff in each role, members fed through the webhooks (and known
to the stand-in Pomelo when a test submits), and CSV files built from rows."""

import pytest
from django.contrib.auth.models import Group, User

from accounts.models import Member
from bulk_adjustments.services import bulk_batch_create, bulk_file_preview
from tests.support.webhooks import notification_body

HEADER = "pomelo_user_id,card_id,account_type,direction,amount,reason_code,reason_text"


@pytest.fixture(autouse=True)
def _fast_passwords_and_one_sender(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    # The tests' transaction is invisible to other threads' connections: one sender here, the
    # PostgreSQL tests choose more.
    settings.BULK_ADJUSTMENT_SUBMIT_CONCURRENCY = 1


@pytest.fixture
def people(make_staff) -> dict[str, User]:
    lead = make_staff("lead", "Support agent")
    lead.groups.add(Group.objects.get(name="Approver"))
    return {
        "lead": User.objects.get(pk=lead.pk),  # both roles: may upload and approve, never both
        "agent": make_staff("agent", "Support agent"),
        "agent2": make_staff("agent2", "Support agent"),
        "approver": make_staff("approver", "Approver"),
        "approver2": make_staff("approver2", "Approver"),
        "auditor": make_staff("auditor", "Finance auditor"),
    }


def member_fed(webhook, n: int, *, points: str = "100.00") -> Member:
    response = webhook.post("confirmation", notification_body(
        "confirmation", f"ctx-seed-{n}", user=f"usr-{n}", card=f"crd-{n}", amount=points))
    assert response.status_code == 200
    return Member.objects.get(pomelo_user_id=f"usr-{n}")


@pytest.fixture
def members(webhook) -> list[Member]:
    """usr-1..usr-5, cards crd-1..crd-5, 100.00 points each."""
    return [member_fed(webhook, n) for n in range(1, 6)]


@pytest.fixture
def pomelo_members(sandbox_pomelo, members) -> list[Member]:
    for member in members:
        sandbox_pomelo.add_member(member.pomelo_user_id, [c.pomelo_card_id for c in member.cards.all()],
                                  balances={"points": "100"})
    return members


def csv_bytes(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def batch_made(maker, content: bytes, name="campaign.csv"):
    preview = bulk_file_preview(maker=maker, file_name=name, content=content)
    return bulk_batch_create(maker=maker, file_name=name, content=content,
                             previewed_digest=preview.digest)
