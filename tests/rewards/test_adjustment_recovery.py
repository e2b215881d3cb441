"""Submissions whose outcome was not recorded: the lease, the watchdog, the sweep, the
idempotency window, the outcome-unknown decisions, and the rules that keep maker-checker from
approving what Pomelo can only refuse. Against the stand-in Pomelo over HTTP."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, transaction
from django_tasks_db.models import DBTaskResult

from accounts.models import BalanceSnapshot
from rewards.models import Adjustment, AuditEntry, LedgerEntry
from rewards.policies import idempotency_window_end
from rewards.selectors import adjustment_actions, adjustment_outcome_evidence, ledger_mismatches
from rewards.services.adjustments import (
    AdjustmentError,
    adjustment_decide,
    adjustment_resume,
    adjustment_resume_overdue,
    adjustment_submit,
)
from rewards.services.ledger import ledger_post
from rewards.tasks import adjustment_watchdog_task
from tests.support.adjustments import approve, request, worker_killed_mid_call
from tests.support.ledger import balances
from tests.support.webhooks import notification_body

pytestmark = pytest.mark.django_db
S = Adjustment.State
SECOND = timedelta(seconds=1)


@pytest.fixture
def pomelo(sandbox_pomelo):
    """The stand-in, holding what our ledger holds: usr-1 with 100.00 points on crd-1."""
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "100"})
    return sandbox_pomelo


def approved(people, member, **overrides) -> Adjustment:
    """Approved, its submission not run (the test decides what happens to it)."""
    adjustment = request(people, member, **overrides)
    approve(adjustment, people["approver"])  # the in-process task waits for a commit that never comes
    adjustment.refresh_from_db()
    assert adjustment.state == S.APPROVED
    return adjustment


def sent_long_ago(adjustment: Adjustment) -> None:
    """Move the adjustment's sends into the past, beyond its idempotency window and its lease,
    as if it had waited that long."""
    shift = timedelta(seconds=settings.ADJUSTMENT_IDEMPOTENCY_WINDOW_SECONDS) + SECOND
    adjustment.refresh_from_db()
    Adjustment.objects.filter(pk=adjustment.pk).update(
        first_sent_at=adjustment.first_sent_at - shift, submitted_at=adjustment.submitted_at - shift,
        lease_expires_at=adjustment.lease_expires_at - shift,
    )
    adjustment.refresh_from_db()


# --- A: the lease, the watchdog and the sweep -------------------------------------------------


def test_the_watchdog_resumes_a_dead_workers_submission_with_the_same_key(people, member, pomelo):
    adjustment = approved(people, member)
    worker_killed_mid_call(adjustment, reach_pomelo=True)
    assert pomelo.effects(adjustment.idempotency_key)["count"] == 1  # Pomelo applied it
    assert balances() == (Decimal("0"), Decimal("100.00"))  # we never heard

    # Before the lease ends the watchdog leaves the attempt alone.
    assert adjustment_watchdog_task.call(adjustment_id=adjustment.pk, attempt=1) == "nothing to resume"
    Adjustment.objects.filter(pk=adjustment.pk).update(lease_expires_at=adjustment.submitted_at)
    assert adjustment_watchdog_task.call(adjustment_id=adjustment.pk, attempt=1) == S.SUCCEEDED

    adjustment.refresh_from_db()
    assert adjustment.submit_attempts == 2
    record = pomelo.effects(adjustment.idempotency_key)
    assert (record["count"], record["requests"], record["replays"]) == (1, 2, 1)
    assert balances() == (Decimal("0"), Decimal("125.00"))
    assert pomelo.balances("usr-1")["points"] == Decimal("125.00")
    assert LedgerEntry.objects.filter(adjustment=adjustment).count() == 1
    resumed = AuditEntry.objects.get(adjustment=adjustment, action="adjustment_resumed")
    assert resumed.actor is None and resumed.data["idempotency_key"] == adjustment.idempotency_key
    assert ledger_mismatches() == []


def test_with_the_database_backend_the_claim_and_its_watchdog_commit_together(
    people, member, pomelo, settings
):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    adjustment = approved(people, member)
    # Queued inside the approval's transaction (no commit has happened in this test).
    submit = DBTaskResult.objects.get(task_path="rewards.tasks.adjustment_submit_task")
    assert submit.args_kwargs["kwargs"] == {"adjustment_id": adjustment.pk}
    assert adjustment_submit(adjustment_id=adjustment.pk).state == S.SUCCEEDED
    adjustment.refresh_from_db()
    watchdog = DBTaskResult.objects.get(task_path="rewards.tasks.adjustment_watchdog_task")
    assert watchdog.args_kwargs["kwargs"] == {"adjustment_id": adjustment.pk, "attempt": 1}
    assert watchdog.run_after == adjustment.lease_expires_at
    assert adjustment.lease_expires_at == adjustment.submitted_at + timedelta(
        seconds=settings.ADJUSTMENT_SUBMISSION_LEASE_SECONDS)


def test_a_watchdog_that_runs_early_looks_again_at_the_end_of_the_lease(people, member, pomelo, settings):
    adjustment = approved(people, member)
    worker_killed_mid_call(adjustment, reach_pomelo=False)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    # Another worker's clock is behind: the lease is not over yet by ours.
    assert adjustment_watchdog_task.call(adjustment_id=adjustment.pk, attempt=1) == "nothing to resume"
    again = DBTaskResult.objects.get(task_path="rewards.tasks.adjustment_watchdog_task")
    assert again.run_after == adjustment.lease_expires_at + SECOND
    # A watchdog of an older attempt does not multiply.
    assert adjustment_watchdog_task.call(adjustment_id=adjustment.pk, attempt=0) == "nothing to resume"
    assert DBTaskResult.objects.filter(task_path="rewards.tasks.adjustment_watchdog_task").count() == 1


def test_the_sweep_resumes_inside_the_window_and_hands_over_past_it(
    people, member, pomelo, django_capture_on_commit_callbacks
):
    recent = approved(people, member)
    worker_killed_mid_call(recent, reach_pomelo=False)
    old = approved(people, member, account_type="cashback")
    worker_killed_mid_call(old, reach_pomelo=True)
    # The old one was first sent long ago: its idempotency window is over.
    Adjustment.objects.filter(pk=old.pk).update(
        first_sent_at=old.first_sent_at - timedelta(minutes=10),
        lease_expires_at=old.lease_expires_at - timedelta(minutes=10),
    )
    old.refresh_from_db()
    now = recent.lease_expires_at
    assert now < idempotency_window_end(recent)
    with django_capture_on_commit_callbacks(execute=True):
        outcomes = adjustment_resume_overdue(now=now)
    assert outcomes == {recent.pk: S.SUCCEEDED, old.pk: S.OUTCOME_UNKNOWN}
    assert pomelo.effects(recent.idempotency_key)["count"] == 1
    # Past the window nothing was sent again: Pomelo might have forgotten the key.
    assert pomelo.effects(old.idempotency_key)["requests"] == 1
    old.refresh_from_db()
    assert "Pomelo may have applied it" in old.failure_reason
    assert "not sent again automatically" in old.failure_reason
    assert not LedgerEntry.objects.filter(adjustment=old).exists()
    # A fresh balance check from Pomelo waits beside it for the approver.
    snapshot = BalanceSnapshot.objects.get(member=member)
    assert snapshot.requested_by is None and snapshot.card == old.card
    evidence = adjustment_outcome_evidence(adjustment=old)
    assert evidence.pomelo == Decimal("25.00") and evidence.ledger == Decimal("0.00")
    assert evidence.verdict == "applied" and evidence.fresh
    # Still an open request: nobody can file the same one while its outcome is unknown.
    with pytest.raises(AdjustmentError, match="already an open credit request"):
        request(people, member, account_type="cashback", maker=people["agent2"])
    assert adjustment_resume_overdue(now=now + timedelta(hours=1)) == {}


def test_an_approved_adjustment_whose_task_was_lost_is_sent_by_the_sweep(people, member, pomelo):
    adjustment = approved(people, member)
    assert adjustment_resume_overdue() == {}  # queued a moment ago: its task is still due
    later = adjustment.updated_at + timedelta(seconds=91)
    assert adjustment_resume_overdue(now=later) == {adjustment.pk: S.SUCCEEDED}
    assert pomelo.effects(adjustment.idempotency_key)["count"] == 1


def test_the_resume_command_runs_the_sweep(people, member, pomelo, capsys):
    adjustment = approved(people, member)
    worker_killed_mid_call(adjustment, reach_pomelo=False)
    Adjustment.objects.filter(pk=adjustment.pk).update(lease_expires_at=adjustment.submitted_at)
    call_command("resume_adjustments")
    out = capsys.readouterr().out
    assert f"adjustment #{adjustment.pk}: succeeded" in out and "1 overdue submission(s)" in out
    assert pomelo.effects(adjustment.idempotency_key)["count"] == 1


def test_an_approver_resumes_an_overdue_submission_and_it_is_audited(
    people, member, pomelo, django_capture_on_commit_callbacks
):
    adjustment = approved(people, member)
    worker_killed_mid_call(adjustment, reach_pomelo=False)
    with pytest.raises(AdjustmentError, match="holds the lease until"):
        adjustment_resume(adjustment_id=adjustment.pk, actor=people["approver2"])
    Adjustment.objects.filter(pk=adjustment.pk).update(lease_expires_at=adjustment.submitted_at)
    with pytest.raises(AdjustmentError, match="permission to resume"):
        adjustment_resume(adjustment_id=adjustment.pk, actor=people["agent"])
    assert adjustment_actions(adjustment=Adjustment.objects.get(pk=adjustment.pk),
                              user=people["approver2"]).can_resume
    with django_capture_on_commit_callbacks(execute=True):
        adjustment_resume(adjustment_id=adjustment.pk, actor=people["approver2"],
                          comment="worker crashed", ip_address="10.9.9.9")
    adjustment.refresh_from_db()
    assert adjustment.state == S.SUCCEEDED and adjustment.submit_attempts == 2
    entry = AuditEntry.objects.get(adjustment=adjustment, action="adjustment_resumed",
                                   actor=people["approver2"])
    assert (entry.comment, entry.ip_address) == ("worker crashed", "10.9.9.9")


def test_a_resume_asked_past_the_window_hands_the_decision_to_an_approver(
    people, member, pomelo, django_capture_on_commit_callbacks
):
    adjustment = approved(people, member)
    worker_killed_mid_call(adjustment, reach_pomelo=False)
    Adjustment.objects.filter(pk=adjustment.pk).update(
        first_sent_at=adjustment.first_sent_at - timedelta(minutes=5),
        lease_expires_at=adjustment.submitted_at,
    )
    with django_capture_on_commit_callbacks(execute=True):
        adjustment_resume(adjustment_id=adjustment.pk, actor=people["approver2"])
    adjustment.refresh_from_db()
    assert adjustment.state == S.OUTCOME_UNKNOWN
    assert pomelo.effects(adjustment.idempotency_key)["requests"] == 0
    entry = AuditEntry.objects.get(adjustment=adjustment, action="adjustment_outcome_unknown")
    assert entry.actor == people["approver2"]


# --- C: the idempotency window ---------------------------------------------------------------


def test_a_failure_whose_next_try_would_fall_past_the_window_waits_for_a_person(
    people, member, pomelo, settings, django_capture_on_commit_callbacks
):
    settings.ADJUSTMENT_SUBMISSION_LEASE_SECONDS = 170
    settings.ADJUSTMENT_IDEMPOTENCY_WINDOW_SECONDS = 172
    settings.POMELO_MAX_RETRIES = 0
    pomelo.set_faults(drop_after_apply_next=1)
    adjustment = request(people, member)
    with django_capture_on_commit_callbacks(execute=True):
        approve(adjustment, people["approver"])
    adjustment.refresh_from_db()
    assert adjustment.state == S.OUTCOME_UNKNOWN
    assert adjustment.failure_reason.startswith("The outcome is unknown: attempt 1 failed")
    assert "cut off" in adjustment.failure_reason or "dropped" in adjustment.failure_reason
    assert "impossible" not in adjustment.failure_reason and "cannot" not in adjustment.failure_reason
    assert adjustment_outcome_evidence(adjustment=adjustment).verdict == "applied"
    assert balances() == (Decimal("0"), Decimal("100.00"))


def test_closing_as_applied_books_the_ledger_once(people, member, pomelo,
                                                   django_capture_on_commit_callbacks):
    adjustment = approved(people, member, maker=people["lead"])  # lead is agent and approver
    worker_killed_mid_call(adjustment, reach_pomelo=True)
    with django_capture_on_commit_callbacks(execute=True):
        sent_long_ago(adjustment)
        adjustment_resume_overdue()
    adjustment.refresh_from_db()
    assert adjustment.state == S.OUTCOME_UNKNOWN

    with pytest.raises(AdjustmentError, match="another approver must decide its outcome"):
        adjustment_decide(adjustment_id=adjustment.pk, approver=people["lead"], decision="applied",
                          comment="mine")
    with pytest.raises(AdjustmentError, match="permission to decide"):
        adjustment_decide(adjustment_id=adjustment.pk, approver=people["agent2"], decision="applied",
                          comment="x")
    with pytest.raises(AdjustmentError, match="comment is required"):
        adjustment_decide(adjustment_id=adjustment.pk, approver=people["approver"], decision="applied",
                          comment=" ")
    adjustment_decide(adjustment_id=adjustment.pk, approver=people["approver"], decision="applied",
                      comment="Pomelo shows 125.00", ip_address="10.0.0.7")
    adjustment.refresh_from_db()
    assert adjustment.state == S.SUCCEEDED and adjustment.resolved_by == people["approver"]
    assert balances()[1] == Decimal("125.00") == pomelo.balances("usr-1")["points"]
    entry = AuditEntry.objects.get(adjustment=adjustment, action="adjustment_closed")
    assert entry.data["decision"] == "applied" and entry.data["pomelo_balance"] == "125.00"
    assert (entry.actor, entry.ip_address, entry.to_state) == (people["approver"], "10.0.0.7", S.SUCCEEDED)
    with pytest.raises(AdjustmentError, match="only an adjustment whose outcome is unknown"):
        adjustment_decide(adjustment_id=adjustment.pk, approver=people["approver2"],
                          decision="applied", comment="again")
    # The database itself refuses a second ledger entry for the adjustment.
    with pytest.raises(IntegrityError), transaction.atomic():
        ledger_post(account=member.reward_accounts.get(account_type="points"), bucket="available",
                    amount=Decimal("25.00"), adjustment=adjustment, description="twice")
    assert LedgerEntry.objects.filter(adjustment=adjustment).count() == 1
    assert pomelo.effects(adjustment.idempotency_key)["count"] == 1


def test_closing_as_not_applied_books_nothing_and_frees_a_new_request(
    people, member, pomelo, django_capture_on_commit_callbacks
):
    adjustment = approved(people, member)
    worker_killed_mid_call(adjustment, reach_pomelo=False)
    with django_capture_on_commit_callbacks(execute=True):
        sent_long_ago(adjustment)
        adjustment_resume_overdue()
    assert adjustment_outcome_evidence(adjustment=Adjustment.objects.get(pk=adjustment.pk)).verdict == (
        "not_applied")
    adjustment_decide(adjustment_id=adjustment.pk, approver=people["approver2"],
                      decision="not_applied", comment="Pomelo still shows 100.00")
    adjustment.refresh_from_db()
    assert adjustment.state == S.FAILED and adjustment.resolved_by == people["approver2"]
    assert adjustment.failure_reason == (
        "Closed as not applied at Pomelo by approver2: Pomelo still shows 100.00")
    assert balances() == (Decimal("0"), Decimal("100.00"))
    assert not LedgerEntry.objects.filter(adjustment=adjustment).exists()
    assert request(people, member).idempotency_key != adjustment.idempotency_key


def test_a_resend_inside_pomelos_key_memory_is_replayed(people, member, pomelo,
                                                         django_capture_on_commit_callbacks):
    adjustment = approved(people, member)
    worker_killed_mid_call(adjustment, reach_pomelo=True)
    with django_capture_on_commit_callbacks(execute=True):
        sent_long_ago(adjustment)
        adjustment_resume_overdue()
        adjustment_decide(adjustment_id=adjustment.pk, approver=people["approver2"],
                          decision="resend", comment="balance unclear, sending again")
    adjustment.refresh_from_db()
    assert adjustment.state == S.SUCCEEDED and adjustment.submit_attempts == 2
    assert pomelo.effects(adjustment.idempotency_key)["count"] == 1  # the stand-in remembered
    resent = AuditEntry.objects.get(adjustment=adjustment, action="adjustment_resent")
    assert resent.actor == people["approver2"] and resent.to_state == S.APPROVED


def test_a_resend_after_pomelo_forgot_the_key_applies_twice_and_the_ledger_counts_once(
    people, member, pomelo, django_capture_on_commit_callbacks
):
    """Why the window exists: once Pomelo forgets a key, the same key is a new request."""
    pomelo.set_key_memory(180)
    adjustment = approved(people, member)
    worker_killed_mid_call(adjustment, reach_pomelo=True)
    with django_capture_on_commit_callbacks(execute=True):
        sent_long_ago(adjustment)
        adjustment_resume_overdue()
    pomelo.advance_clock(200)
    with django_capture_on_commit_callbacks(execute=True):
        # Against the evidence (the balance showed it applied), an approver re-sends it.
        adjustment_decide(adjustment_id=adjustment.pk, approver=people["approver2"],
                          decision="resend", comment="re-sending")
    adjustment.refresh_from_db()
    assert adjustment.state == S.SUCCEEDED
    assert pomelo.effects(adjustment.idempotency_key)["count"] == 2
    assert pomelo.balances("usr-1")["points"] == Decimal("150.00")
    assert balances() == (Decimal("0"), Decimal("125.00"))  # booked once
    succeeded = AuditEntry.objects.get(adjustment=adjustment, action="adjustment_succeeded")
    assert "holds it twice" in succeeded.comment and "reconciliation" in succeeded.comment
    # The re-send was one request: no automatic retry happens past the window.
    assert pomelo.effects(adjustment.idempotency_key)["requests"] == 2


def test_a_refusal_of_a_late_resend_proves_nothing_about_the_first_attempt(
    people, member, pomelo, django_capture_on_commit_callbacks
):
    # A debit of 80 was applied (Pomelo: 20 left) but nobody heard. Pomelo forgets the key; the
    # re-send is refused for the balance. Calling that FAILED ("nothing was applied") would be
    # wrong: the outcome stays unknown.
    pomelo.set_key_memory(180)
    adjustment = approved(people, member, direction="debit", amount="80.00")
    worker_killed_mid_call(adjustment, reach_pomelo=True)
    with django_capture_on_commit_callbacks(execute=True):
        sent_long_ago(adjustment)
        adjustment_resume_overdue()
    pomelo.advance_clock(200)
    with django_capture_on_commit_callbacks(execute=True):
        adjustment_decide(adjustment_id=adjustment.pk, approver=people["approver2"],
                          decision="resend", comment="re-sending")
    adjustment.refresh_from_db()
    assert adjustment.state == S.OUTCOME_UNKNOWN
    assert "Pomelo refused a send made after the idempotency window" in adjustment.failure_reason
    assert "INSUFFICIENT_BALANCE" in adjustment.failure_reason
    assert pomelo.effects(adjustment.idempotency_key)["count"] == 1
    adjustment_decide(adjustment_id=adjustment.pk, approver=people["approver"], decision="applied",
                      comment="Pomelo shows 20.00")
    assert balances()[1] == Decimal("20.00") == pomelo.balances("usr-1")["points"]


def test_a_refusal_inside_the_window_is_final_even_after_a_failed_attempt(
    people, member, pomelo, django_capture_on_commit_callbacks
):
    # Inside the window Pomelo remembers the key, so its refusal answers for the earlier attempt.
    pomelo.add_member("usr-1", ["crd-1"], balances={"points": "10"})
    adjustment = approved(people, member, direction="debit", amount="50.00")
    worker_killed_mid_call(adjustment, reach_pomelo=False)
    with django_capture_on_commit_callbacks(execute=True):
        adjustment_resume_overdue(now=adjustment.lease_expires_at)
    adjustment.refresh_from_db()
    assert adjustment.state == S.FAILED and adjustment.submit_attempts == 2
    assert adjustment.failure_reason.startswith("Pomelo refused it:")


def test_credentials_refused_on_the_first_send_end_it_as_not_applied(
    people, member, pomelo, settings, django_capture_on_commit_callbacks
):
    settings.POMELO_CLIENT_SECRET = "wrong"
    adjustment = request(people, member)
    with django_capture_on_commit_callbacks(execute=True):
        approve(adjustment, people["approver"])
    adjustment.refresh_from_db()
    assert adjustment.state == S.FAILED
    assert adjustment.failure_reason.startswith("Pomelo did not accept it:")
    assert "Nothing was applied" in adjustment.failure_reason


# --- B: where Pomelo refuses negative balances, nothing is approved that can only fail ----


def test_a_debit_above_the_balance_is_refused_at_request_even_when_flagged(people, member):
    with pytest.raises(AdjustmentError, match="Pomelo does not let a balance go below zero"):
        request(people, member, direction="debit", amount="100.01", above_balance=True)
    assert not Adjustment.objects.exists()


def test_approval_is_refused_when_the_balance_dropped_below_the_debit(people, member, webhook):
    adjustment = request(people, member, direction="debit", amount="80.00")
    # A confirmed reward is cancelled meanwhile: the available balance drops to 40.
    webhook.post("confirmation", notification_body("confirmation", "ctx-2", amount="-60.00"))
    actions = adjustment_actions(adjustment=adjustment, user=people["approver"])
    assert actions.can_review and not actions.can_approve
    assert "It cannot be approved; reject it." in actions.approve_blocker
    with pytest.raises(AdjustmentError, match=r"balance, now 40\.00\. Pomelo does not let a balance go"):
        approve(adjustment, people["approver"], override_balance=True)
    adjustment.refresh_from_db()
    assert adjustment.state == S.PENDING_APPROVAL and not adjustment.approvals.exists()
    assert not adjustment.balance_override
