"""Audit trail, approvals, balance snapshots and reconciliation: viewable by the roles that
may see them, never added, changed or deleted through the admin."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import BalanceSnapshot, RewardAccount
from rewards.models import Approval, AuditEntry, ReconciliationResult, ReconciliationRun
from rewards.services.adjustments import adjustment_approve
from tests.support.adjustments import make_request
from tests.support.pages import as_user, database_state

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(people, member):
    adjustment = make_request(people["agent"], member)
    adjustment_approve(adjustment_id=adjustment.pk, approver=people["approver"], comment="ok")
    BalanceSnapshot.objects.create(member=member, balances={"points": "90"},
                                   ledger_balances={"points": "100.00"}, requested_by=people["agent"])
    account = RewardAccount.objects.get(member=member, account_type="points")
    run = ReconciliationRun.objects.create(status="finished", members_checked=1, accounts_drifting=1)
    drifting = ReconciliationResult.objects.create(
        run=run, member=member, account_type="points", account=account,
        ledger_available=Decimal("100.00"),
        pomelo_available=Decimal("90.00"), difference=Decimal("10.00"), drifting=True)
    in_step = ReconciliationResult.objects.create(
        run=run, member=member, account_type="points", account=account,
        ledger_available=Decimal("100.00"),
        pomelo_available=Decimal("100.00"), difference=Decimal("0.00"), drifting=False)
    return {"adjustment": adjustment, "run": run, "drifting": drifting, "in_step": in_step}


READ_ONLY = [
    ("rewards", "auditentry", AuditEntry),
    ("rewards", "approval", Approval),
    ("accounts", "balancesnapshot", BalanceSnapshot),
    ("rewards", "reconciliationrun", ReconciliationRun),
    ("rewards", "reconciliationresult", ReconciliationResult),
]

# Which role may view which list (from the role definitions).
VISIBLE = {
    "auditentry": {"approver", "auditor", "admin"},
    "approval": {"approver", "auditor", "admin"},
    "balancesnapshot": {"agent", "approver", "auditor", "admin"},
    "reconciliationrun": {"auditor", "admin"},
    "reconciliationresult": {"auditor", "admin"},
}


@pytest.mark.parametrize(("app", "model", "cls"), READ_ONLY)
@pytest.mark.parametrize("role", ["agent", "approver", "auditor", "admin"])
def test_each_role_sees_exactly_the_lists_it_may(client, people, history, app, model, cls, role):
    as_user(client, people[role])
    obj = cls.objects.order_by("pk").first()
    changelist = client.get(reverse(f"admin:{app}_{model}_changelist"))
    detail = client.get(reverse(f"admin:{app}_{model}_change", args=[obj.pk]))
    if role in VISIBLE[model]:
        assert changelist.status_code == 200 and detail.status_code == 200
        assert 'value="delete_selected"' not in changelist.content.decode()
        assert 'name="_save"' not in detail.content.decode()
    else:
        assert changelist.status_code == 403 and detail.status_code == 403


@pytest.mark.parametrize(("app", "model", "cls"), READ_ONLY)
def test_nothing_is_added_changed_or_deleted_even_by_a_superuser(admin_client, history, app, model,
                                                                 cls):
    obj = cls.objects.order_by("pk").first()
    before = (database_state(), cls.objects.count())
    assert admin_client.get(reverse(f"admin:{app}_{model}_add")).status_code == 403
    assert admin_client.post(reverse(f"admin:{app}_{model}_delete", args=[obj.pk]),
                             {"post": "yes"}).status_code == 403
    assert admin_client.post(reverse(f"admin:{app}_{model}_change", args=[obj.pk]),
                             {"comment": "edited"}).status_code == 403
    assert (database_state(), cls.objects.count()) == before


def test_audit_list_filters_and_searches(client, people, history):
    as_user(client, people["auditor"])
    url = reverse("admin:rewards_auditentry_changelist")
    adjustment = history["adjustment"]

    def actions(params):
        response = client.get(url, params)
        assert response.status_code == 200
        return sorted(e.action for e in response.context["cl"].result_list)

    assert actions({"q": str(adjustment.pk)}) == ["adjustment_approved", "adjustment_requested"]
    assert actions({"q": f"#{adjustment.pk}"}) == ["adjustment_approved", "adjustment_requested"]
    assert actions({"q": "approver"}) == ["adjustment_approved"]
    assert "adjustment_requested" in actions({"q": "usr-1"})
    assert actions({"action__exact": "adjustment_approved"}) == ["adjustment_approved"]
    assert actions({"q": "nobody"}) == []
    assert actions({"q": "9" * 40}) == []
    html = client.get(url).content.decode()
    assert reverse("admin:rewards_adjustment_change", args=[adjustment.pk]) in html


def test_reconciliation_results_show_drifting_ones_by_default(client, people, history):
    as_user(client, people["auditor"])
    url = reverse("admin:rewards_reconciliationresult_changelist")
    response = client.get(url)
    assert [r.pk for r in response.context["cl"].result_list] == [history["drifting"].pk]
    html = response.content.decode()
    assert "90.00" in html and "10.00" in html and "usr-1" in html
    everything = client.get(url, {"drift": "all"}).context["cl"].result_list
    assert {r.pk for r in everything} == {history["drifting"].pk, history["in_step"].pk}
    in_step = client.get(url, {"drift": "no"}).context["cl"].result_list
    assert [r.pk for r in in_step] == [history["in_step"].pk]
    of_run = client.get(url, {"run__id__exact": history["run"].pk, "drift": "all"})
    assert of_run.status_code == 200 and len(of_run.context["cl"].result_list) == 2


def test_reconciliation_run_page_lists_its_drifting_accounts(client, people, history):
    as_user(client, people["auditor"])
    response = client.get(reverse("admin:rewards_reconciliationrun_change", args=[history["run"].pk]))
    html = response.content.decode()
    assert response.status_code == 200 and "drifting or failed accounts" in html.lower()
    assert "90.00" in html


def test_balance_snapshot_list_shows_pomelo_beside_our_ledger(client, people, history):
    as_user(client, people["agent"])
    html = client.get(reverse("admin:accounts_balancesnapshot_changelist")).content.decode()
    assert "Points 90" in html and "Points 100.00" in html and "differs" in html
