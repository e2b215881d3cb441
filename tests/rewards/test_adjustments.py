"""Maker-checker rules and the Pomelo submission, against the stand-in Pomelo over HTTP."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.models import Card, Member
from rewards.models import Adjustment, AuditEntry, LedgerEntry
from rewards.models.adjustments import IllegalTransition
from rewards.selectors import adjustment_actions, ledger_mismatches
from rewards.services.adjustments import (
    AdjustmentError,
    adjustment_cancel,
    adjustment_expire_overdue,
    adjustment_reject,
    adjustment_resume_overdue,
    adjustment_submit,
)
from tests.support.adjustments import approve, request
from tests.support.ledger import balances

pytestmark = pytest.mark.django_db
S = Adjustment.State


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"amount": "0"}, "greater than zero"),
        ({"amount": "-5"}, "greater than zero"),
        ({"amount": "1.001"}, "at most 2 decimals"),
        ({"amount": "abc"}, "is not a number"),
        ({"amount": "NaN"}, "finite"),
        ({"account_type": "stars"}, "Unknown account type"),
        ({"direction": "sideways"}, "credit or debit"),
        ({"reason_code": "because"}, "Unknown reason code"),
        ({"reason_text": "  "}, "Explain the reason"),
        ({"card": None}, "Choose one of the member's cards"),
        ({"direction": "debit", "amount": "100.01"}, "exceeds the available points balance of 100.00"),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(people, member, overrides, message):
    with pytest.raises(AdjustmentError, match=message):
        request(people, member, **overrides)
    assert not Adjustment.objects.exists()
    assert not AuditEntry.objects.exists()


def test_card_of_another_member_and_member_without_card_are_refused(people, member, webhook):
    other = Member.objects.create(pomelo_user_id="usr-nocard")
    with pytest.raises(AdjustmentError, match="has no card"):
        request(people, other, card=None)
    with pytest.raises(AdjustmentError, match="does not belong to this member"):
        request(people, other, card=Card.objects.get(pomelo_card_id="crd-1"))
    assert not Adjustment.objects.exists()


def test_requesting_needs_the_permission(people, member):
    with pytest.raises(AdjustmentError, match="permission to request"):
        request(people, member, maker=people["auditor"])
    assert not Adjustment.objects.exists()


def test_one_open_request_per_member_type_and_direction(people, member):
    first = request(people, member)
    with pytest.raises(AdjustmentError, match=f"already an open credit request .*#{first.pk}"):
        request(people, member, maker=people["agent2"])
    request(people, member, direction="debit", amount="5.00")
    request(people, member, account_type="cashback")
    adjustment_cancel(adjustment_id=first.pk, maker=people["agent"])
    request(people, member)
    assert Adjustment.objects.count() == 4


def test_request_is_audited_with_who_where_and_what(people, member):
    adjustment = request(people, member)
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.actor, entry.ip_address) == (
        "adjustment_requested", people["agent"], "10.1.2.3")
    assert entry.to_state == S.PENDING_APPROVAL and entry.adjustment == adjustment
    assert entry.data["idempotency_key"] == adjustment.idempotency_key


def test_checker_rules(people, member):
    adjustment = request(people, member, maker=people["lead"])
    with pytest.raises(AdjustmentError, match="another approver must approve it"):
        approve(adjustment, people["lead"])
    with pytest.raises(AdjustmentError, match="another approver must reject it"):
        adjustment_reject(adjustment_id=adjustment.pk, approver=people["lead"], comment="x")
    with pytest.raises(AdjustmentError, match="permission to approve"):
        approve(adjustment, people["agent2"])
    with pytest.raises(AdjustmentError, match="comment is required"):
        approve(adjustment, people["approver"], comment=" ")
    with pytest.raises(AdjustmentError, match="comment is required"):
        adjustment_reject(adjustment_id=adjustment.pk, approver=people["approver"], comment="")
    adjustment.refresh_from_db()
    assert adjustment.state == S.PENDING_APPROVAL and not adjustment.approvals.exists()


def test_approving_a_request_that_is_not_pending_is_refused(people, member):
    adjustment = request(people, member)
    adjustment_reject(adjustment_id=adjustment.pk, approver=people["approver"], comment="no")
    with pytest.raises(AdjustmentError, match="is rejected; only a request pending approval"):
        approve(adjustment, people["approver2"])
    with pytest.raises(AdjustmentError, match="only a request pending approval can be cancelled"):
        adjustment_cancel(adjustment_id=adjustment.pk, maker=people["agent"])


def test_only_the_maker_cancels(people, member):
    adjustment = request(people, member)
    with pytest.raises(AdjustmentError, match="Only the person who requested"):
        adjustment_cancel(adjustment_id=adjustment.pk, maker=people["agent2"])
    adjustment_cancel(adjustment_id=adjustment.pk, maker=people["agent"], comment="typo")
    adjustment.refresh_from_db()
    assert adjustment.state == S.CANCELLED


def test_large_amounts_need_two_different_approvers(people, member, settings, sandbox_pomelo,
                                                    django_capture_on_commit_callbacks):
    sandbox_pomelo.add_member("usr-1", ["crd-1"])
    settings.ADJUSTMENT_SECOND_APPROVAL_ABOVE = {"points": Decimal("1000")}
    adjustment = request(people, member, amount="1000.01")
    assert adjustment.approvals_required == 2
    approve(adjustment, people["approver"])
    with pytest.raises(AdjustmentError, match="already approved"):
        approve(adjustment, people["approver"])
    adjustment.refresh_from_db()
    assert adjustment.state == S.PENDING_APPROVAL
    with django_capture_on_commit_callbacks(execute=True):
        approve(adjustment, people["approver2"])
    adjustment.refresh_from_db()
    assert adjustment.state == S.SUCCEEDED
    assert request(people, member, direction="debit", amount="1000.00").approvals_required == 1


def test_debit_above_balance_needs_an_explicit_override(people, member, sandbox_pomelo, settings,
                                                       django_capture_on_commit_callbacks):
    settings.POMELO_ALLOWS_NEGATIVE_BALANCE = True
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "500"})
    adjustment = request(people, member, direction="debit", amount="150.00", above_balance=True)
    with pytest.raises(AdjustmentError, match="Tick 'override balance'"):
        approve(adjustment, people["approver"])
    with django_capture_on_commit_callbacks(execute=True):
        approve(adjustment, people["approver"], comment="fraud confirmed", override_balance=True)
    adjustment.refresh_from_db()
    assert adjustment.balance_override and adjustment.state == S.SUCCEEDED
    assert balances() == (Decimal("0"), Decimal("-50.00"))


def test_expired_requests_cannot_be_approved(people, member):
    adjustment = request(people, member)
    Adjustment.objects.filter(pk=adjustment.pk).update(expires_at=timezone.now() - timedelta(1))
    with pytest.raises(AdjustmentError, match="expired before it was approved"):
        approve(adjustment, people["approver"])
    adjustment.refresh_from_db()
    assert adjustment.state == S.EXPIRED
    assert AuditEntry.objects.filter(action="adjustment_expired", actor=None).count() == 1


def test_expiry_sweep(people, member):
    old = request(people, member)
    fresh = request(people, member, direction="debit", amount="1.00")
    assert adjustment_expire_overdue(now=timezone.now() + timedelta(hours=1)) == 0
    Adjustment.objects.filter(pk=old.pk).update(expires_at=timezone.now())
    assert adjustment_expire_overdue() == 1
    assert Adjustment.objects.get(pk=old.pk).state == S.EXPIRED
    assert Adjustment.objects.get(pk=fresh.pk).state == S.PENDING_APPROVAL


def test_state_changes_only_through_services(people, member):
    adjustment = request(people, member)
    adjustment.state = S.SUCCEEDED
    with pytest.raises(IllegalTransition):
        adjustment.save()
    with pytest.raises(IllegalTransition):
        Adjustment.objects.filter(pk=adjustment.pk).update(state=S.APPROVED)
    with pytest.raises(IllegalTransition):
        Adjustment.objects.get(pk=adjustment.pk).delete()
    with pytest.raises(IllegalTransition, match="cannot become succeeded"):
        Adjustment.objects.get(pk=adjustment.pk).transition_to(S.SUCCEEDED)
    assert Adjustment.objects.get(pk=adjustment.pk).state == S.PENDING_APPROVAL


def test_approved_credit_reaches_pomelo_once_and_books_the_ledger(
    people, member, sandbox_pomelo, django_capture_on_commit_callbacks
):
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "100"})
    adjustment = request(people, member)
    with django_capture_on_commit_callbacks(execute=True):
        approve(adjustment, people["approver"], comment="goodwill ok")
    adjustment.refresh_from_db()
    assert adjustment.state == S.SUCCEEDED and adjustment.pomelo_status_code in (200, 201)
    assert adjustment.pomelo_request["idempotency_key"] == adjustment.idempotency_key
    assert sandbox_pomelo.effects(adjustment.idempotency_key)["count"] == 1
    assert sandbox_pomelo.balances("usr-1")["points"] == Decimal("125.00")
    assert balances() == (Decimal("0"), Decimal("125.00"))
    entry = LedgerEntry.objects.get(adjustment=adjustment)
    assert entry.amount == Decimal("25.00") and entry.bucket == "available"
    actions = list(AuditEntry.objects.filter(adjustment=adjustment).order_by("id")
                   .values_list("action", "from_state", "to_state"))
    assert actions == [
        ("adjustment_requested", "", "pending_approval"),
        ("adjustment_approved", "pending_approval", "approved"),
        ("adjustment_submitting", "approved", "submitting"),
        ("pomelo_exchange", "submitting", "submitting"),
        ("adjustment_succeeded", "submitting", "succeeded"),
    ]
    exchange = AuditEntry.objects.get(adjustment=adjustment, action="pomelo_exchange").data
    assert "Bearer" not in str(exchange) and "sandbox-secret" not in str(exchange)
    assert ledger_mismatches() == []
    # Running the task again (a duplicate enqueue, a worker restart) does nothing.
    assert adjustment_submit(adjustment_id=adjustment.pk) is None
    assert sandbox_pomelo.effects(adjustment.idempotency_key)["count"] == 1


def test_refused_debit_fails_for_good_with_pomelos_reason(
    people, member, sandbox_pomelo, django_capture_on_commit_callbacks
):
    # Our ledger says 100 (so the request passes); Pomelo holds 10 and refuses the burn.
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "10"})
    adjustment = request(people, member, direction="debit", amount="50.00")
    with django_capture_on_commit_callbacks(execute=True):
        approve(adjustment, people["approver"])
    adjustment.refresh_from_db()
    assert adjustment.state == S.FAILED and adjustment.completed_at is not None
    assert adjustment.failure_reason.startswith("Pomelo refused it:")
    assert "INSUFFICIENT_BALANCE" in adjustment.failure_reason
    assert "Nothing was applied" in adjustment.failure_reason
    assert balances() == (Decimal("0"), Decimal("100.00"))
    # FAILED is final: a retry under the same key could only be refused again.
    with pytest.raises(IllegalTransition):
        Adjustment.objects.get(pk=adjustment.pk).transition_to(S.APPROVED)
    for user in people.values():
        actions = adjustment_actions(adjustment=adjustment, user=user)
        assert not (actions.can_resume or actions.can_decide or actions.can_review)
    assert adjustment_resume_overdue(now=timezone.now() + timedelta(days=1)) == {}
    assert sandbox_pomelo.effects(adjustment.idempotency_key)["requests"] == 1
    # It closed the request: a new one (with a new key) may follow.
    again = request(people, member, direction="debit", amount="5.00")
    assert again.idempotency_key != adjustment.idempotency_key


def test_pomelo_down_keeps_the_submission_and_the_sweep_resumes_it_with_the_same_key(
    people, member, sandbox_pomelo, django_capture_on_commit_callbacks
):
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "0"})
    sandbox_pomelo.set_faults(fail_next=50)
    adjustment = request(people, member)
    with django_capture_on_commit_callbacks(execute=True):
        approve(adjustment, people["approver"])
    adjustment.refresh_from_db()
    # Not FAILED: Pomelo may have applied it. It waits for its lease to end.
    assert adjustment.state == S.SUBMITTING and adjustment.submit_attempts == 1
    assert "Pomelo may or may not have applied it" in adjustment.failure_reason
    assert "sent again automatically with the same idempotency key" in adjustment.failure_reason
    assert adjustment_resume_overdue() == {}  # the lease is not over yet
    sandbox_pomelo.clear_faults()
    outcomes = adjustment_resume_overdue(now=adjustment.lease_expires_at)
    assert outcomes == {adjustment.pk: S.SUCCEEDED}
    adjustment.refresh_from_db()
    assert adjustment.submit_attempts == 2 and adjustment.failure_reason == ""
    keys = {e["request"]["idempotency_key"] for e in AuditEntry.objects.filter(
        adjustment=adjustment, action="pomelo_exchange").values_list("data", flat=True)}
    assert keys == {adjustment.idempotency_key}
    assert sandbox_pomelo.effects(adjustment.idempotency_key)["count"] == 1
    assert balances() == (Decimal("0"), Decimal("125.00"))
    assert AuditEntry.objects.filter(adjustment=adjustment, action="adjustment_resumed").count() == 1


def test_connection_dropped_after_pomelo_applied_is_not_applied_twice(
    people, member, sandbox_pomelo, django_capture_on_commit_callbacks
):
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "0"})
    sandbox_pomelo.set_faults(drop_after_apply_next=1)
    adjustment = request(people, member)
    with django_capture_on_commit_callbacks(execute=True):
        approve(adjustment, people["approver"])
    adjustment.refresh_from_db()
    assert adjustment.state == S.SUCCEEDED
    assert sandbox_pomelo.effects(adjustment.idempotency_key)["count"] == 1
    assert sandbox_pomelo.balances("usr-1")["points"] == Decimal("25.00")
