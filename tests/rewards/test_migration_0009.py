"""Migration 0009 on a database that holds adjustments sent under the previous rules."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.support.migrations import database_at, migrate_to

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("rewards", "0007_list_and_search_indexes")]
AFTER = [("rewards", "0009_adjustment_outcome_unknown_and_reconciliation_per_type")]



@pytest.fixture
def old_database():
    with database_at(BEFORE) as apps:
        yield apps


def test_open_and_transport_failed_adjustments_are_carried_over(old_database):
    apps = old_database
    User = apps.get_model("auth", "User")
    Member = apps.get_model("accounts", "Member")
    Card = apps.get_model("accounts", "Card")
    RewardAccount = apps.get_model("accounts", "RewardAccount")
    Adjustment = apps.get_model("rewards", "Adjustment")
    Run = apps.get_model("rewards", "ReconciliationRun")
    Result = apps.get_model("rewards", "ReconciliationResult")
    maker = User.objects.create(username="maker")
    member = Member.objects.create(pomelo_user_id="usr-1")
    card = Card.objects.create(member=member, pomelo_card_id="crd-1")
    account = RewardAccount.objects.create(member=member, account_type="points",
                                           available_balance=Decimal("10"))
    sent = timezone.now() - timedelta(hours=1)
    common = dict(member=member, card=card, amount=Decimal("5"), reason_code="goodwill",
                  reason_text="r", maker=maker, expires_at=sent, submitted_at=sent,
                  submit_attempts=1)
    stuck = Adjustment.objects.create(state="submitting", account_type="points", direction="credit",
                                      idempotency_key="adj-stuck", **common)
    lost = Adjustment.objects.create(
        state="failed", account_type="cashback", direction="credit", idempotency_key="adj-lost",
        failure_reason="Pomelo was unavailable after retries, so the outcome is unknown (…)", **common)
    refused = Adjustment.objects.create(
        state="failed", account_type="points", direction="debit", idempotency_key="adj-refused",
        failure_reason="Pomelo refused it: INSUFFICIENT_BALANCE", **common)
    # A transport failure for which a newer request is already open stays as it was.
    Adjustment.objects.create(
        state="failed", account_type="miles", direction="credit", idempotency_key="adj-old",
        failure_reason="Pomelo was unavailable after retries, so …", **common)
    Adjustment.objects.create(state="pending_approval", account_type="miles", direction="credit",
                              idempotency_key="adj-new", **{**common, "submitted_at": None})
    run = Run.objects.create(status="finished")
    result = Result.objects.create(run=run, account=account, ledger_available=Decimal("10"),
                                   pomelo_available=Decimal("10"), difference=Decimal("0"))

    apps = migrate_to(AFTER)
    Adjustment = apps.get_model("rewards", "Adjustment")
    AuditEntry = apps.get_model("rewards", "AuditEntry")
    Result = apps.get_model("rewards", "ReconciliationResult")
    stuck = Adjustment.objects.get(pk=stuck.pk)
    assert (stuck.state, stuck.first_sent_at, stuck.lease_expires_at) == ("submitting", sent, sent)
    assert Adjustment.objects.get(pk=lost.pk).state == "outcome_unknown"
    assert Adjustment.objects.get(pk=refused.pk).state == "failed"
    assert Adjustment.objects.get(idempotency_key="adj-old").state == "failed"
    entry = AuditEntry.objects.get()
    assert (entry.adjustment_id, entry.from_state, entry.to_state) == (lost.pk, "failed", "outcome_unknown")
    result = Result.objects.get(pk=result.pk)
    assert (result.member_id, result.account_type) == (member.pk, "points")
