"""Simulated card traffic over real HTTP leaves our ledger and the stand-in Pomelo agreeing."""

import base64

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from accounts.models import Member, RewardAccount
from rewards.models import RewardEvent
from rewards.selectors import ledger_mismatches
from rewards.services.reconciliation import reconciliation_run
from sandbox.traffic import traffic_members, traffic_plan, traffic_play
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db(transaction=True)


def _play(live_server, sandbox_pomelo, **plan_options):
    api_key, secret = next(iter(settings.POMELO_WEBHOOK_KEYS.items()))
    members = traffic_members(count=12, seed=3)
    plan = traffic_plan(members=members, transactions=80, seed=3, **plan_options)
    report = traffic_play(plan=plan, backoffice_url=live_server.url, pomelo_url=sandbox_pomelo.url,
                          api_key=api_key, secret_b64=base64.b64encode(secret).decode(),
                          concurrency=3)
    return plan, report


def test_shuffled_duplicated_traffic_leaves_ledger_and_pomelo_in_agreement(
    live_server, sandbox_pomelo
):
    plan, report = _play(live_server, sandbox_pomelo, duplicates=0.25, shuffle=True)
    assert report.sent == len(plan.notifications) and not report.errors
    assert set(report.statuses) == {200}
    assert report.outcomes["duplicate"] >= int(len(plan.notifications) * 0.2 / 1.25)
    assert Delivery.objects.count() == report.sent
    assert RewardEvent.objects.count() == len({p["transaction_id"] + p["account_type"]
                                               for _, p in plan.notifications})
    assert ledger_mismatches() == []
    for (user_id, account_type), amount in plan.pomelo_effects.items():
        account = RewardAccount.objects.get(member__pomelo_user_id=user_id,
                                            account_type=account_type)
        assert account.available_balance == amount
        assert sandbox_pomelo.balances(user_id)[account_type] == amount
    run = reconciliation_run(concurrency=3)
    assert run.members_checked == Member.objects.count() > 0
    assert (run.accounts_drifting, run.errors) == (0, 0)


def test_reconciliation_reports_drift_without_touching_the_ledger(live_server, sandbox_pomelo):
    _play(live_server, sandbox_pomelo)
    user_id = Member.objects.order_by("pk").first().pomelo_user_id
    sandbox_pomelo.reward(user_id=user_id, account_type="points", amount="7.25")
    before = list(RewardAccount.objects.order_by("pk").values_list("available_balance", flat=True))
    run = reconciliation_run(concurrency=2)
    drifting = list(run.results.filter(drifting=True))
    assert [(r.account.member.pomelo_user_id, r.account.account_type) for r in drifting] == [
        (user_id, "points")]
    assert drifting[0].difference == drifting[0].ledger_available - drifting[0].pomelo_available
    assert str(drifting[0].difference) == "-7.25"
    after = list(RewardAccount.objects.order_by("pk").values_list("available_balance", flat=True))
    assert before == after


def test_reconciliation_records_pomelo_errors(live_server, sandbox_pomelo, capsys):
    _play(live_server, sandbox_pomelo)
    sandbox_pomelo.set_faults(fail_next=1000)
    call_command("reconcile_balances", "--concurrency", "2")
    out = capsys.readouterr().out
    assert "0 accounts drifting" in out and f"{RewardAccount.objects.count()} errors" in out


def test_simulator_command_refuses_bad_options(settings):
    with pytest.raises(CommandError, match="duplicates"):
        call_command("simulate_card_traffic", "--duplicates", "2")
    settings.POMELO_WEBHOOK_KEYS = {}
    with pytest.raises(CommandError, match="POMELO_WEBHOOK_KEYS is empty"):
        call_command("simulate_card_traffic")
