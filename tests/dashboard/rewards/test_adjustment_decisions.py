"""The adjustment page and its decisions: review (approve or reject), cancel, resume and the
outcome decision, each behind a confirmation page, for each role; the approval end to end with
Pomelo."""

import json
from decimal import Decimal

import pytest
import responses
from django.urls import reverse

from rewards.models import Adjustment, AuditEntry, LedgerEntry
from rewards.services.adjustments import adjustment_approve, adjustment_reject
from tests.support.adjustments import make_request
from tests.support.ledger import balances
from tests.support.pages import as_user, database_state, messages_of
from tests.support.pomelo_http import burn_url, mint_url

pytestmark = pytest.mark.django_db
S = Adjustment.State


def detail(adjustment):
    return reverse("admin:rewards_adjustment_change", args=[adjustment.pk])


def review(adjustment):
    return reverse("admin:rewards_adjustment_review", args=[adjustment.pk])


def cancel(adjustment):
    return reverse("admin:rewards_adjustment_cancel", args=[adjustment.pk])


def resume(adjustment):
    return reverse("admin:rewards_adjustment_resume", args=[adjustment.pk])


def outcome(adjustment):
    return reverse("admin:rewards_adjustment_outcome", args=[adjustment.pk])


@pytest.fixture
def pending(people, member):
    return make_request(people["agent"], member)


@pytest.mark.parametrize(
    ("role", "review_button", "cancel_button"),
    [
        ("agent", False, True),  # the maker
        ("agent2", False, False),
        ("approver", True, False),
        ("auditor", False, False),
        ("admin", False, False),
    ],
)
def test_detail_page_offers_each_role_only_its_decisions(client, people, pending, role,
                                                         review_button, cancel_button):
    response = as_user(client, people[role]).get(detail(pending))
    assert response.status_code == 200
    html = response.content.decode()
    assert (review(pending) in html) is review_button
    assert (cancel(pending) in html) is cancel_button
    assert resume(pending) not in html and outcome(pending) not in html
    assert 'name="_save"' not in html and "deletelink" not in html
    assert "late delivery" in html and 'id="history"' in html


def test_detail_shows_approvals_history_and_the_pomelo_exchange(client, people, member, pomelo,
                                                                django_capture_on_commit_callbacks):
    pomelo.add(responses.POST, mint_url(), json={"data": {"id": "mv-77"}})
    adjustment = make_request(people["agent"], member)
    with django_capture_on_commit_callbacks(execute=True):
        adjustment_approve(adjustment_id=adjustment.pk, approver=people["approver"], comment="fine")
    html = as_user(client, people["auditor"]).get(detail(adjustment)).content.decode()
    for text in ("fine", "mv-77", "Pomelo exchange", "Adjustment succeeded", adjustment.idempotency_key,
                 "/loyalty/v1/accounts/points/mint", "1 of 1"):
        assert text in html, text


def test_review_page_shows_what_the_approver_decides_on(client, people, member):
    older = make_request(people["agent"], member, direction="debit", amount="3.00")
    adjustment_reject(adjustment_id=older.pk, approver=people["approver"], comment="no")
    adjustment = make_request(people["agent"], member, direction="debit", amount="40.00")
    response = as_user(client, people["approver"]).get(review(adjustment))
    assert response.status_code == 200
    html = response.content.decode()
    for text in ("usr-1", "crd-1", "−40.00 points", "100.00", "60.00", "late delivery", "agent",
                 "0 of 1 required", 'name="comment"', 'value="approve"', 'value="reject"'):
        assert text in html, text
    assert response.context["recent"] == [older]
    assert 'name="override_balance"' not in html  # within the balance: no override offered


def test_approve_end_to_end_with_pomelo(client, people, member, pomelo,
                                        django_capture_on_commit_callbacks):
    mint = pomelo.add(responses.POST, mint_url(), json={"data": {"id": "mv-1"}})
    adjustment = make_request(people["agent"], member)
    as_user(client, people["approver"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(review(adjustment), {"decision": "approve", "comment": "Verified"})
    assert response.status_code == 302 and response["Location"] == detail(adjustment)
    adjustment.refresh_from_db()
    assert adjustment.state == S.SUCCEEDED and adjustment.pomelo_reference == "mv-1"
    assert mint.call_count == 1
    sent = mint.calls[0].request
    assert sent.headers["x-idempotency-key"] == adjustment.idempotency_key
    assert json.loads(sent.body) == {"amount": 25, "reason": "goodwill: late delivery", "card_id": "crd-1"}
    entry = LedgerEntry.objects.get(adjustment=adjustment)
    assert entry.amount == Decimal("25.00") and entry.bucket == "available"
    assert balances() == (Decimal("0"), Decimal("125.00"))
    actions = list(AuditEntry.objects.filter(adjustment=adjustment).order_by("pk")
                   .values_list("action", flat=True))
    assert actions == ["adjustment_requested", "adjustment_approved", "adjustment_submitting",
                       "pomelo_exchange", "adjustment_succeeded"]
    approved = AuditEntry.objects.get(adjustment=adjustment, action="adjustment_approved")
    assert approved.actor == people["approver"] and approved.comment == "Verified"
    assert approved.ip_address == "127.0.0.1"
    page = client.get(detail(adjustment))
    # The submission ran after the view answered (the test captures the commit's callbacks), so
    # the message does not claim an outcome; the page shows it.
    assert any(m.startswith(f"Adjustment #{adjustment.pk} approved; it is being sent to Pomelo.")
               for m in messages_of(page))


def test_reject_needs_a_comment_and_then_ends_the_request(client, people, pending):
    as_user(client, people["approver"])
    before = database_state()
    response = client.post(review(pending), {"decision": "reject", "comment": "  "})
    assert "A comment is required to approve or reject an adjustment." in response.content.decode()
    assert database_state() == before
    response = client.post(review(pending), {"decision": "reject", "comment": "No receipt"}, follow=True)
    pending.refresh_from_db()
    assert pending.state == S.REJECTED
    assert f"Adjustment #{pending.pk} rejected. Nothing was sent to Pomelo." in messages_of(response)


def test_self_approval_is_refused(client, people, member):
    adjustment = make_request(people["lead"], member)  # lead is agent and approver
    as_user(client, people["lead"])
    page = client.get(review(adjustment)).content.decode()
    assert f"You requested adjustment #{adjustment.pk}; another approver must review it." in page
    assert 'value="approve"' not in page
    assert review(adjustment) not in client.get(detail(adjustment)).content.decode()
    before = database_state()
    response = client.post(review(adjustment), {"decision": "approve", "comment": "mine"})
    refusal = f"You requested adjustment #{adjustment.pk}; another approver must approve it."
    assert refusal in response.content.decode()
    response = client.post(review(adjustment), {"decision": "reject", "comment": "mine"})
    assert "another approver must reject it" in response.content.decode()
    assert database_state() == before


def test_approving_twice_is_refused(client, people, member, settings):
    settings.ADJUSTMENT_SECOND_APPROVAL_ABOVE = {"points": Decimal("10")}
    adjustment = make_request(people["agent"], member)
    assert adjustment.approvals_required == 2
    as_user(client, people["approver"])
    response = client.post(review(adjustment), {"decision": "approve", "comment": "one"}, follow=True)
    assert any("it needs 1 more approval from someone else" in m for m in messages_of(response))
    # The first approver's queue and buttons no longer offer it.
    assert review(adjustment) not in response.content.decode()
    before = database_state()
    response = client.post(review(adjustment), {"decision": "approve", "comment": "again"})
    assert (f"You already approved adjustment #{adjustment.pk}; a different approver is needed."
            in response.content.decode())
    assert database_state() == before
    adjustment.refresh_from_db()
    assert adjustment.state == S.PENDING_APPROVAL and adjustment.approvals.count() == 1


def test_approving_a_request_that_is_not_pending_is_refused(client, people, pending):
    adjustment_reject(adjustment_id=pending.pk, approver=people["approver2"], comment="no")
    as_user(client, people["approver"])
    page = client.get(review(pending)).content.decode()
    assert "is rejected; only a request pending approval can be reviewed." in page
    before = database_state()
    response = client.post(review(pending), {"decision": "approve", "comment": "late"})
    assert "is rejected; only a request pending approval can be approved" in response.content.decode()
    assert database_state() == before


def test_debit_above_available_needs_the_override(client, people, member, pomelo, settings,
                                                  django_capture_on_commit_callbacks):
    settings.POMELO_ALLOWS_NEGATIVE_BALANCE = True
    pomelo.add(responses.POST, burn_url(), json={"data": {"id": "mv-9"}})
    adjustment = make_request(people["agent"], member, direction="debit", amount="150.00",
                              above_balance=True)
    as_user(client, people["approver"])
    page = client.get(review(adjustment)).content.decode()
    assert 'name="override_balance"' in page and "This debit exceeds the available balance." in page
    assert "-50.00" in page
    before = database_state()
    response = client.post(review(adjustment), {"decision": "approve", "comment": "fraud"})
    assert "Tick &#x27;override balance&#x27;" in response.content.decode()
    assert database_state() == before
    with django_capture_on_commit_callbacks(execute=True):
        client.post(review(adjustment), {"decision": "approve", "comment": "fraud",
                                         "override_balance": "on"})
    adjustment.refresh_from_db()
    assert adjustment.balance_override and adjustment.state == S.SUCCEEDED
    assert balances() == (Decimal("0"), Decimal("-50.00"))


@pytest.mark.parametrize("role", ["agent2", "auditor", "admin"])
def test_forged_review_without_permission_is_403_and_changes_nothing(client, people, pending, role):
    as_user(client, people[role])
    before = database_state()
    assert client.get(review(pending)).status_code == 403
    for decision in ("approve", "reject"):
        response = client.post(review(pending), {"decision": decision, "comment": "forged"})
        assert response.status_code == 403
    assert database_state() == before


def test_the_maker_cancels_after_confirming(client, people, pending):
    as_user(client, people["agent"])
    page = client.get(cancel(pending))
    assert page.status_code == 200 and f"Yes, cancel request #{pending.pk}" in page.content.decode()
    assert Adjustment.objects.get(pk=pending.pk).state == S.PENDING_APPROVAL  # GET only shows
    response = client.post(cancel(pending), {"comment": "typo in amount"}, follow=True)
    pending.refresh_from_db()
    assert pending.state == S.CANCELLED
    assert f"Adjustment #{pending.pk} cancelled. Nothing was sent to Pomelo." in messages_of(response)
    entry = AuditEntry.objects.get(action="adjustment_cancelled")
    assert entry.actor == people["agent"] and entry.comment == "typo in amount"
    before = database_state()
    response = client.post(cancel(pending), {})
    assert "only a request pending approval can be cancelled" in response.content.decode()
    assert database_state() == before


@pytest.mark.parametrize("role", ["agent2", "approver", "auditor"])
def test_only_the_maker_may_cancel(client, people, pending, role):
    as_user(client, people[role])
    before = database_state()
    assert client.get(cancel(pending)).status_code == 403
    assert client.post(cancel(pending), {"comment": "forged"}).status_code == 403
    assert database_state() == before


@pytest.fixture
def failed(people, member, pomelo, django_capture_on_commit_callbacks):
    pomelo.add(responses.POST, mint_url(), json={"error": {"message": "card blocked"}}, status=422)
    adjustment = make_request(people["agent"], member)
    with django_capture_on_commit_callbacks(execute=True):
        adjustment_approve(adjustment_id=adjustment.pk, approver=people["approver"], comment="ok")
    adjustment.refresh_from_db()
    assert adjustment.state == S.FAILED
    return adjustment


@pytest.mark.parametrize("role", ["agent", "approver", "approver2", "auditor"])
def test_a_refused_adjustment_is_final_and_offers_no_retry(client, people, failed, role):
    html = as_user(client, people[role]).get(detail(failed)).content.decode()
    assert "card blocked" in html and "Nothing was applied" in html
    assert resume(failed) not in html and outcome(failed) not in html
    assert "/retry/" not in html and ">Retry<" not in html


def test_resume_and_outcome_pages_refuse_a_failed_adjustment(client, people, failed):
    as_user(client, people["approver2"])
    page = client.get(resume(failed)).content.decode()
    assert "only a submission whose lease is over can be resumed" in page
    page = client.get(outcome(failed)).content.decode()
    assert "only an adjustment whose outcome is unknown can be re-sent or closed" in page
    before = database_state()
    response = client.post(resume(failed), {})
    assert "is failed; only a submission whose lease is over can be resumed" in response.content.decode()
    response = client.post(outcome(failed), {"decision": "resend", "comment": "try"})
    assert "only an adjustment whose outcome is unknown" in response.content.decode()
    assert database_state() == before


@pytest.mark.parametrize("role", ["agent", "auditor", "admin"])
def test_resume_and_outcome_without_permission_are_403(client, people, failed, role):
    as_user(client, people[role])
    before = database_state()
    for url in (resume(failed), outcome(failed)):
        assert client.get(url).status_code == 403
        assert client.post(url, {"decision": "applied", "comment": "x"}).status_code == 403
    assert database_state() == before


def test_no_standard_add_change_or_delete(client, people, pending):
    as_user(client, people["approver"])
    assert client.get(reverse("admin:rewards_adjustment_add")).status_code == 403
    before = database_state()
    url = reverse("admin:rewards_adjustment_change", args=[pending.pk])
    assert client.post(url, {"state": "approved", "amount": "1"}).status_code == 403
    delete = reverse("admin:rewards_adjustment_delete", args=[pending.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    changelist = client.get(reverse("admin:rewards_adjustment_changelist")).content.decode()
    assert 'value="delete_selected"' not in changelist
    assert database_state() == before


def test_unknown_adjustment_is_404(client, people):
    as_user(client, people["approver"])
    assert client.get(reverse("admin:rewards_adjustment_review", args=[424242])).status_code == 404


def test_the_history_shows_state_labels_not_the_stored_codes(client, people, member):
    adjustment = make_request(people["agent"], member)
    adjustment_reject(adjustment_id=adjustment.pk, approver=people["approver"], comment="no proof")
    html = as_user(client, people["approver"]).get(detail(adjustment)).content.decode()
    assert "Pending approval &rarr; Rejected" in html
    assert "pending_approval &rarr;" not in html and "&rarr; rejected" not in html
