"""The admin pages for submissions whose outcome was not recorded (resume, decide outcome), the
messages after a decision, and the review page where Pomelo refuses negative balances. Against
the stand-in Pomelo over HTTP."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.messages import constants
from django.urls import reverse

from accounts.models import BalanceSnapshot
from rewards.models import Adjustment, AuditEntry, LedgerEntry, ReconciliationRun
from rewards.services.adjustments import adjustment_approve, adjustment_resume_overdue
from tests.support.adjustments import make_request, worker_killed_mid_call
from tests.support.ledger import balances
from tests.support.pages import as_user, database_state, messages_of
from tests.support.webhooks import notification_body

pytestmark = pytest.mark.django_db
S = Adjustment.State


def detail(adjustment):
    return reverse("admin:rewards_adjustment_change", args=[adjustment.pk])


def outcome(adjustment):
    return reverse("admin:rewards_adjustment_outcome", args=[adjustment.pk])


def resume(adjustment):
    return reverse("admin:rewards_adjustment_resume", args=[adjustment.pk])


@pytest.fixture
def pomelo(sandbox_pomelo, member):
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "100"})
    return sandbox_pomelo


def stuck(people, member, maker="agent") -> Adjustment:
    """Approved, sent, applied at Pomelo, and its worker killed before it recorded anything."""
    adjustment = make_request(people[maker], member)
    adjustment_approve(adjustment_id=adjustment.pk, approver=people["approver"], comment="ok")
    worker_killed_mid_call(adjustment, reach_pomelo=True)
    return adjustment


@pytest.fixture
def unknown(people, member, pomelo, django_capture_on_commit_callbacks):
    adjustment = stuck(people, member, maker="lead")
    shift = timedelta(minutes=10)
    Adjustment.objects.filter(pk=adjustment.pk).update(
        first_sent_at=adjustment.first_sent_at - shift, submitted_at=adjustment.submitted_at - shift,
        lease_expires_at=adjustment.lease_expires_at - shift)
    with django_capture_on_commit_callbacks(execute=True):
        adjustment_resume_overdue()
    adjustment.refresh_from_db()
    assert adjustment.state == S.OUTCOME_UNKNOWN
    return adjustment


def test_outcome_page_shows_pomelos_balance_beside_the_expected_change(client, people, unknown):
    html = as_user(client, people["approver2"]).get(detail(unknown)).content.decode()
    assert outcome(unknown) in html and "Outcome unknown:" in html and 'id="outcome-evidence"' in html
    page = client.get(outcome(unknown))
    assert page.status_code == 200
    html = page.content.decode()
    for text in ("125.00 points", "Our ledger then", "100.00", "If applied", "If not applied",
                 "<strong>applied</strong>", 'value="applied"', 'value="not_applied"',
                 'value="resend"', 'name="check_balance"', unknown.idempotency_key,
                 "it is applied a second time"):
        assert text in html, text
    assert "impossible" not in html
    # The maker (lead, also an approver) sees why not; an auditor gets no link at all.
    html = as_user(client, people["lead"]).get(detail(unknown)).content.decode()
    assert "another approver must decide its outcome" in html and outcome(unknown) not in html
    html = as_user(client, people["auditor"]).get(detail(unknown)).content.decode()
    assert outcome(unknown) not in html and "Outcome unknown:" in html


def test_checking_the_balance_again_is_audited(client, people, unknown, pomelo,
                                               django_capture_on_commit_callbacks):
    pomelo.reward(user_id="usr-1", account_type="points", amount="1.00")
    as_user(client, people["approver2"])
    with django_capture_on_commit_callbacks(execute=True):  # the task, run in-process
        response = client.post(outcome(unknown), {"check_balance": "1"})
    assert response.status_code == 302
    response = client.get(response["Location"])
    assert any(m.startswith("Balance check at Pomelo requested") for m in messages_of(response))
    snapshot = BalanceSnapshot.objects.order_by("-pk").first()
    assert snapshot.requested_by == people["approver2"] and snapshot.balances["points"] == "126.00"
    assert "126.00 points" in response.content.decode()
    assert "<strong class=\"bo-negative\">neither</strong>" in response.content.decode()
    entry = AuditEntry.objects.filter(action="balance_checked").order_by("-pk").first()
    assert entry.actor == people["approver2"] and entry.ip_address == "127.0.0.1"
    # Finance looks, but asks Pomelo for nothing from here.
    before = BalanceSnapshot.objects.count()
    as_user(client, people["auditor"])
    assert client.post(outcome(unknown), {"check_balance": "1"}).status_code == 403
    assert BalanceSnapshot.objects.count() == before


def test_closing_as_applied_from_the_page(client, people, unknown):
    as_user(client, people["approver2"])
    before = database_state()
    response = client.post(outcome(unknown), {"decision": "applied", "comment": " "})
    assert "A comment is required" in response.content.decode()
    assert database_state() == before
    response = client.post(outcome(unknown), {"decision": "applied", "comment": "Pomelo shows 125"},
                           follow=True)
    unknown.refresh_from_db()
    assert unknown.state == S.SUCCEEDED and unknown.resolved_by == people["approver2"]
    assert any("closed as applied; the ledger booked it" in m for m in messages_of(response))
    assert "Closed as applied by approver2" in response.content.decode()
    assert balances() == (Decimal("0"), Decimal("125.00"))


def test_closing_as_not_applied_from_the_page(client, people, unknown):
    as_user(client, people["approver2"])
    response = client.post(outcome(unknown), {"decision": "not_applied", "comment": "no trace"},
                           follow=True)
    unknown.refresh_from_db()
    assert unknown.state == S.FAILED
    assert any("closed as not applied. Nothing was booked" in m for m in messages_of(response))
    assert not LedgerEntry.objects.filter(adjustment=unknown).exists()


def test_the_maker_cannot_decide_by_posting(client, people, unknown):
    as_user(client, people["lead"])
    before = database_state()
    response = client.post(outcome(unknown), {"decision": "applied", "comment": "mine"})
    assert "another approver must decide its outcome" in response.content.decode()
    assert database_state() == before


def test_resume_page_sends_an_overdue_submission_again(client, people, member, pomelo,
                                                       django_capture_on_commit_callbacks):
    adjustment = stuck(people, member)
    as_user(client, people["approver2"])
    assert resume(adjustment) not in client.get(detail(adjustment)).content.decode()  # lease runs
    assert "holds the lease until" in client.get(resume(adjustment)).content.decode()
    Adjustment.objects.filter(pk=adjustment.pk).update(lease_expires_at=adjustment.submitted_at)
    html = client.get(detail(adjustment)).content.decode()
    assert resume(adjustment) in html and "It is resumed automatically; you can resume it now." in html
    page = client.get(resume(adjustment)).content.decode()
    assert "A worker sends it again with the same idempotency key" in page
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(resume(adjustment), {"comment": "worker crashed"})
    assert response.status_code == 302
    adjustment.refresh_from_db()
    assert adjustment.state == S.SUCCEEDED
    assert pomelo.effects(adjustment.idempotency_key)["count"] == 1
    entry = AuditEntry.objects.get(action="adjustment_resumed", actor=people["approver2"])
    assert entry.comment == "worker crashed"


def test_list_filters_find_what_needs_a_person(client, people, member, unknown):
    other = make_request(people["agent"], member, direction="debit", amount="5.00")
    as_user(client, people["auditor"])
    url = reverse("admin:rewards_adjustment_changelist")
    html = client.get(url).content.decode()
    assert "Outcome unknown" in html and "outcome not recorded" in html
    listed = client.get(url, {"unsettled": "any"}).context["cl"].result_list
    assert list(listed) == [unknown]
    listed = client.get(url, {"state__exact": "outcome_unknown"}).context["cl"].result_list
    assert list(listed) == [unknown]
    assert other not in client.get(url, {"unsettled": "lease_over"}).context["cl"].result_list


def test_the_reconciliation_run_page_lists_adjustments_of_unrecorded_outcome(client, people, unknown):
    run = ReconciliationRun.objects.create(status="finished", adjustments_unsettled=1, unsettled_adjustments=[
        {"id": unknown.pk, "state": "outcome_unknown", "member": "usr-1", "account_type": "points",
         "signed_amount": "25.00", "idempotency_key": unknown.idempotency_key}])
    html = as_user(client, people["auditor"]).get(
        reverse("admin:rewards_reconciliationrun_change", args=[run.pk])).content.decode()
    assert detail(unknown) in html and unknown.idempotency_key in html and "outcome_unknown" in html


# --- B: pages never offer what can only fail, never show a success over a failure ---------


def test_review_page_offers_no_override_and_no_approve_for_a_debit_pomelo_would_refuse(
    client, people, member, webhook
):
    adjustment = make_request(people["agent"], member, direction="debit", amount="60.00")
    # A reward is cancelled meanwhile: the available balance drops to 50, below the debit.
    webhook.post("confirmation", notification_body("confirmation", "ctx-9", amount="-50.00"))
    review = reverse("admin:rewards_adjustment_review", args=[adjustment.pk])
    page = as_user(client, people["approver"]).get(review).content.decode()
    assert 'name="override_balance"' not in page and 'value="approve"' not in page
    assert 'value="reject"' in page and "It cannot be approved; reject it." in page
    before = database_state()
    response = client.post(review, {"decision": "approve", "comment": "ok", "override_balance": "on"})
    assert "Pomelo does not let a balance go below zero" in response.content.decode()
    assert database_state() == before
    response = client.post(review, {"decision": "reject", "comment": "balance too low"}, follow=True)
    assert Adjustment.objects.get(pk=adjustment.pk).state == S.REJECTED


@pytest.mark.django_db(transaction=True)
def test_a_refused_approval_shows_the_failure_never_a_success_banner(client, people, member, pomelo):
    """The approval commits and (in-process) the submission runs before the page answers: the
    message says what happened at Pomelo, and the page offers nothing that can only fail."""
    pomelo.add_member("usr-1", ["crd-1"], balances={"points": "10"})  # Pomelo refuses the burn
    adjustment = make_request(people["agent"], member, direction="debit", amount="50.00")
    as_user(client, people["approver"])
    response = client.post(reverse("admin:rewards_adjustment_review", args=[adjustment.pk]),
                           {"decision": "approve", "comment": "ok"}, follow=True)
    adjustment.refresh_from_db()
    assert adjustment.state == S.FAILED
    shown = list(response.context["messages"])
    assert [m.level for m in shown] == [constants.ERROR]
    assert "but it ended failed: Pomelo refused it" in shown[0].message
    assert not any("being sent" in m.message or m.level == constants.SUCCESS for m in shown)
    html = response.content.decode()
    assert "Failed: Pomelo refused it" in html
    for offer in ("/retry/", resume(adjustment), outcome(adjustment), ">Retry<"):
        assert offer not in html
