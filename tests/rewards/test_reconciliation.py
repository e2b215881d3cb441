"""Reconciliation against the stand-in Pomelo: every account type Pomelo reports, and the
adjustments whose outcome we have not recorded."""

from decimal import Decimal

import pytest
from django.core.management import call_command

from accounts.models import Card, Member
from rewards.models import Adjustment, ReconciliationRun
from rewards.services.reconciliation import reconciliation_run
from tests.support.adjustments import approve, request, worker_killed_mid_call

pytestmark = pytest.mark.django_db
S = Adjustment.State


@pytest.fixture
def pomelo(sandbox_pomelo, member):
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "100"})
    return sandbox_pomelo


def test_a_balance_in_a_type_we_hold_no_account_for_is_drift(pomelo, member):
    # A cashback credit reached Pomelo but was never recorded here: we hold no cashback account.
    pomelo.reward(user_id="usr-1", account_type="cashback", amount="25.00")
    run = reconciliation_run(concurrency=1)
    assert run.accounts_drifting == 1 and run.errors == 0
    drifting = run.results.get(drifting=True)
    assert (drifting.member, drifting.account_type, drifting.account) == (member, "cashback", None)
    assert (drifting.ledger_available, drifting.pomelo_available, drifting.difference) == (
        Decimal("0.00"), Decimal("25.00"), Decimal("-25.00"))
    in_step = run.results.get(drifting=False)
    assert (in_step.account_type, in_step.account.account_type) == ("points", "points")
    # Types Pomelo lists as zero where we hold nothing make no rows.
    assert run.results.count() == 2


def test_a_member_without_any_account_is_checked_too(pomelo, member):
    other = Member.objects.create(pomelo_user_id="usr-2")
    Card.objects.create(member=other, pomelo_card_id="crd-2")
    pomelo.add_member("usr-2", ["crd-2"], balances={"miles": "40"})
    run = reconciliation_run(concurrency=2)
    assert run.members_checked == 2
    result = run.results.get(member=other)
    assert (result.account_type, result.pomelo_available, result.drifting) == (
        "miles", Decimal("40.00"), True)


def test_a_member_pomelo_does_not_know_is_an_error_row_even_without_accounts(pomelo, member):
    Member.objects.create(pomelo_user_id="usr-unknown")
    run = reconciliation_run(concurrency=1)
    result = run.results.get(member__pomelo_user_id="usr-unknown")
    assert result.account_type == "" and result.error and not result.drifting
    assert run.errors == 1


def test_a_stuck_submission_is_listed_and_explains_the_drift(pomelo, member, people, capsys):
    """The incident: a credit minted at Pomelo whose worker died before recording it, in a
    type we held no account for. The run shows the drift and names the adjustment beside it."""
    stuck = request(people, member, account_type="miles", amount="30.00")
    approve(stuck, people["approver"])
    worker_killed_mid_call(stuck, reach_pomelo=True)
    Adjustment.objects.filter(pk=stuck.pk).update(lease_expires_at=stuck.submitted_at)

    call_command("reconcile_balances", "--concurrency", "1")
    out = capsys.readouterr().out
    assert "1 accounts drifting" in out and "1 adjustments of unrecorded outcome" in out
    assert f"adjustment #{stuck.pk} submitting: usr-1 miles 30.00" in out
    run = ReconciliationRun.objects.get()
    assert run.adjustments_unsettled == 1
    assert [item["id"] for item in run.unsettled_adjustments] == [stuck.pk]
    drifting = run.results.get(drifting=True)
    assert (drifting.account_type, drifting.account, drifting.pomelo_available) == (
        "miles", None, Decimal("30.00"))
    assert f"adjustment #{stuck.pk} (30.00) has no recorded outcome" in drifting.note


def test_a_submission_still_inside_its_lease_is_not_listed(pomelo, member, people):
    live = request(people, member)
    approve(live, people["approver"])
    worker_killed_mid_call(live, reach_pomelo=False)  # its lease still runs
    run = reconciliation_run(concurrency=1)
    assert run.adjustments_unsettled == 0 and run.unsettled_adjustments == []
