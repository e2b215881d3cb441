"""The operations home's figures: tiles of what needs a person, and the 30-day charts."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from rewards.models import Adjustment, ReconciliationRun
from rewards.operations_selectors import (
    adjustments_in_trouble,
    approvals_waiting,
    operations_charts,
    reconciliation_state,
)
from tests.support.adjustments import approve, request, worker_killed_mid_call
from tests.support.webhooks import notification_body
from webhooks.inbox_selectors import inbox_state
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db
S = Adjustment.State


def test_approvals_waiting_counts_the_age_and_what_runs_out_within_a_day(people, member, settings):
    assert approvals_waiting(user=people["approver"]).count == 0
    first = request(people, member)
    settings.ADJUSTMENT_EXPIRY_HOURS = 12
    request(people, member, account_type="cashback", maker=people["lead"])
    # Expired but not yet swept: not waiting any more.
    settings.ADJUSTMENT_EXPIRY_HOURS = 1
    stale = request(people, member, account_type="miles")
    now = timezone.now()

    waiting = approvals_waiting(user=people["approver"], now=now + timedelta(hours=2))
    assert waiting.count == 2
    assert waiting.expiring_within_a_day == 1  # 72 h and 12 h requests, seen 2 h later: 70 h, 10 h
    waiting = approvals_waiting(user=people["approver"], now=now)
    assert waiting.count == 3 and waiting.expiring_within_a_day == 2
    assert waiting.oldest_created_at == first.created_at
    assert waiting.oldest_age(now=first.created_at + timedelta(hours=5)) == timedelta(hours=5)
    assert waiting.waiting_for_user == 3
    # The lead made one of them: it is not theirs to approve. An agent approves nothing.
    assert approvals_waiting(user=people["lead"], now=now).waiting_for_user == 2
    assert approvals_waiting(user=people["agent"], now=now).waiting_for_user is None
    approve(stale, people["approver"])  # leaves the queue of approvers who approved it
    assert approvals_waiting(user=people["approver"]).waiting_for_user == 2


def test_adjustments_in_trouble_counts_failed_and_stuck_submissions(
    people, member, sandbox_pomelo, django_capture_on_commit_callbacks
):
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "10", "cashback": "100"})
    refused = request(people, member, direction="debit", amount="50.00")
    with django_capture_on_commit_callbacks(execute=True):
        approve(refused, people["approver"])
    refused.refresh_from_db()
    assert refused.state == S.FAILED

    stuck = request(people, member, account_type="cashback")
    approve(stuck, people["approver"])  # no on-commit run: the task is never queued
    trouble = adjustments_in_trouble()
    assert (trouble.failed_recently, trouble.stuck) == (1, 0)
    later = timezone.now() + timedelta(hours=1)
    assert adjustments_in_trouble(now=later).approved_not_sent == 1

    worker_killed_mid_call(stuck, reach_pomelo=False)
    trouble = adjustments_in_trouble(now=later)
    assert (trouble.submitting_lease_over, trouble.approved_not_sent, trouble.stuck) == (1, 0, 1)
    assert adjustments_in_trouble().submitting_lease_over == 0  # its lease still runs
    # A week later the refusal is history.
    assert adjustments_in_trouble(now=timezone.now() + timedelta(days=8)).failed_recently == 0
    assert trouble.total == 2


def test_inbox_state_counts_failed_flagged_and_the_lag(webhook):
    assert inbox_state() == inbox_state().__class__(0, 0, 0, None, None)
    webhook.post("pending", notification_body("pending", "tx-ok"))
    # Signed but naming an account type the program does not have: kept, flagged.
    webhook.post("pending", notification_body("pending", "tx-odd", amount="1.001"))
    long_ago = timezone.now() - timedelta(minutes=30)
    Delivery.objects.create(endpoint="/x", outcome=Delivery.Outcome.FAILED, http_status=500)
    Delivery.objects.create(endpoint="/x", outcome=Delivery.Outcome.RECEIVED, received_at=long_ago)

    state = inbox_state()
    assert (state.failed, state.flagged, state.waiting) == (1, 1, 1)
    assert state.oldest_waiting_at == long_ago
    now = timezone.now()
    assert timedelta(minutes=29) < state.lag(now=now) < timedelta(minutes=31)
    assert state.silence(now=now) < timedelta(minutes=1)


def test_reconciliation_state_is_the_last_finished_run_and_any_run_under_way():
    assert reconciliation_state().accounts_drifting is None
    now = timezone.now()
    older = ReconciliationRun.objects.create(
        started_at=now - timedelta(days=2), status=ReconciliationRun.Status.FINISHED, accounts_drifting=7
    )
    last = ReconciliationRun.objects.create(
        started_at=now - timedelta(days=1), status=ReconciliationRun.Status.FINISHED, accounts_drifting=2
    )
    ReconciliationRun.objects.create(
        started_at=now - timedelta(hours=1), status=ReconciliationRun.Status.FAILED
    )
    running = ReconciliationRun.objects.create(started_at=now)
    state = reconciliation_state()
    assert state.last_finished == last != older
    assert state.accounts_drifting == 2 and state.running == running


def test_charts_count_rewards_and_sum_adjustments_per_account_type_and_day(
    people, member, webhook, sandbox_pomelo, django_capture_on_commit_callbacks, settings
):
    settings.TIME_ZONE = "America/Sao_Paulo"
    webhook.post("pending", notification_body("pending", "tx-1", amount="5.00"))
    webhook.post("pending", notification_body("pending", "tx-2", amount="6.00"))
    webhook.post("confirmation", notification_body("confirmation", "tx-1", amount="5.00"))
    webhook.post("cancellation", notification_body("cancellation", "tx-2", amount="6.00"))
    webhook.post("pending", notification_body("pending", "tx-3", account_type="miles"))
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "100"})
    credit = request(people, member, amount="1234.50")
    debit = request(people, member, direction="debit", amount="20.00")
    with django_capture_on_commit_callbacks(execute=True):
        approve(credit, people["approver"])
        approve(debit, people["approver"])

    charts = operations_charts()
    assert len(charts.days) == 30 and charts.days[-1] == timezone.localdate()
    by_type = {s.account_type: s for s in charts.series}
    assert list(by_type)[:3] == ["points", "cashback", "miles"]
    points, miles = by_type["points"], by_type["miles"]
    # The member fixture's seed confirmation arrived without a pending step.
    today = (points.rewards_pending[-1], points.rewards_confirmed[-1], points.rewards_cancelled[-1])
    assert today == (2, 2, 1)
    assert miles.rewards_pending[-1] == 1 and sum(miles.rewards_confirmed) == 0
    assert points.credits[-1] == Decimal("1234.50") and points.debits[-1] == Decimal("20.00")
    assert sum(points.credits[:-1]) == 0
    assert points.approval_hours[-1] is not None and points.approval_hours[-1] < 1
    assert by_type["cashback"].approval_hours == [None] * 30

    # Thirty days on, all of it has left the window.
    later = operations_charts(now=timezone.now() + timedelta(days=30))
    assert sum(later.series[0].rewards_pending) == 0 and sum(later.series[0].credits) == 0
