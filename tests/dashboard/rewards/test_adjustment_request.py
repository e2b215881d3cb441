"""Requesting a credit or a debit from the member page."""

from decimal import Decimal

import pytest
from django.urls import reverse

from accounts.models import Card
from rewards.models import Adjustment, AuditEntry
from tests.support.adjustments import make_request
from tests.support.pages import as_user, database_state, messages_of
from tests.support.webhooks import notification_body

pytestmark = pytest.mark.django_db


def credit_url(member):
    return reverse("admin:accounts_member_request_credit", args=[member.pk])


def debit_url(member):
    return reverse("admin:accounts_member_request_debit", args=[member.pk])


def form_data(member, **overrides):
    data = {"card": member.cards.get().pk, "account_type": "points", "amount": "25.00",
            "reason_code": "goodwill", "reason_text": "Purchase not rewarded"}
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def test_request_page_shows_balances_and_the_members_cards(client, people, member, settings):
    settings.POMELO_ALLOWS_NEGATIVE_BALANCE = True
    response = as_user(client, people["agent"]).get(debit_url(member))
    assert response.status_code == 200
    html = response.content.decode()
    assert "100.00" in html and "crd-1" in html and "Above available balance" in html
    assert response.context["form"].initial["card"] == member.cards.get().pk
    credit = client.get(credit_url(member)).content.decode()
    assert "Above available balance" not in credit


def test_a_credit_request_is_made_and_audited(client, people, member):
    response = as_user(client, people["agent"]).post(credit_url(member), form_data(member), follow=True)
    adjustment = Adjustment.objects.get()
    assert response.redirect_chain[-1][0] == reverse("admin:rewards_adjustment_change",
                                                    args=[adjustment.pk])
    assert (adjustment.maker, adjustment.direction, str(adjustment.amount), adjustment.state) == (
        people["agent"], "credit", "25.00", "pending_approval")
    assert any(f"adjustment #{adjustment.pk}" in m for m in messages_of(response))
    entry = AuditEntry.objects.get(action="adjustment_requested")
    assert entry.actor == people["agent"] and entry.ip_address == "127.0.0.1"
    # The maker gets the cancel button, never the review button.
    html = response.content.decode()
    assert reverse("admin:rewards_adjustment_cancel", args=[adjustment.pk]) in html
    assert reverse("admin:rewards_adjustment_review", args=[adjustment.pk]) not in html


def test_a_debit_above_the_balance_needs_the_checkbox(client, people, member, settings):
    settings.POMELO_ALLOWS_NEGATIVE_BALANCE = True
    as_user(client, people["agent"])
    response = client.post(debit_url(member), form_data(member, amount="150.00"))
    assert response.status_code == 200
    errors = str(response.context["form"].non_field_errors())
    assert "exceeds the available points balance of 100.00" in errors
    assert not Adjustment.objects.exists()
    client.post(debit_url(member), form_data(member, amount="150.00", above_balance="on"))
    assert Adjustment.objects.get().direction == "debit"


def test_where_pomelo_refuses_negative_balances_no_override_is_offered(client, people, member):
    # The default: Pomelo refuses burns below zero, so an override could only end in a failure.
    as_user(client, people["agent"])
    page = client.get(debit_url(member)).content.decode()
    assert "Above available balance" not in page and 'name="above_balance"' not in page
    before = database_state()
    response = client.post(debit_url(member), form_data(member, amount="150.00", above_balance="on"))
    errors = str(response.context["form"].non_field_errors())
    assert "exceeds the available points balance of 100.00" in errors
    assert "Pomelo does not let a balance go below zero" in errors
    assert "request at most 100.00" in errors
    assert database_state() == before
    client.post(debit_url(member), form_data(member, amount="100.00"))
    assert Adjustment.objects.get().amount == Decimal("100.00")


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"amount": "0"}, "Amount must be greater than zero."),
        ({"amount": "-5"}, "Enter the amount without a sign"),
        ({"amount": "1.001"}, "At most two decimals after “.”, as in 1,000.50."),
        ({"amount": "ten"}, "Write the amount as 1,000.50"),
        ({"amount": "1.000,50"}, "Write the amount as 1,000.50"),
        ({"amount": ""}, "This field is required."),
        ({"account_type": "stars"}, "Select a valid choice. stars is not one of the available choices."),
        ({"reason_code": "because"}, "Select a valid choice."),
        ({"reason_text": "   "}, "This field is required."),
        ({"card": None}, "Choose one of the member's cards."),
        ({"card": "999999"}, "Select a valid choice."),
    ],
)
def test_bad_input_is_a_form_error_and_changes_nothing(client, people, member, overrides, error):
    before = database_state()
    response = as_user(client, people["agent"]).post(credit_url(member), form_data(member, **overrides))
    assert response.status_code == 200
    assert error in response.content.decode().replace("&#x27;", "'")
    assert "The request was not made." in response.content.decode()
    assert database_state() == before


def test_a_card_of_another_member_is_refused(client, people, member, webhook):
    webhook.post("pending", notification_body("pending", "ctx-2", user="usr-2", card="crd-2"))
    before = database_state()
    other = Card.objects.get(pomelo_card_id="crd-2")
    response = as_user(client, people["agent"]).post(credit_url(member),
                                                     form_data(member, card=other.pk))
    assert "Select a valid choice." in response.content.decode()
    assert database_state() == before


def test_member_without_card_gets_a_clear_error(client, people, member_without_card):
    before = database_state()
    as_user(client, people["agent"])
    page = client.get(credit_url(member_without_card)).content.decode()
    assert "This member has no card." in page
    data = {"account_type": "points", "amount": "5", "reason_code": "goodwill", "reason_text": "x"}
    response = client.post(credit_url(member_without_card), data)
    assert "This member has no card; Pomelo adjusts balances by card." in response.content.decode()
    assert database_state() == before


def test_a_second_open_request_is_refused(client, people, member):
    first = make_request(people["agent"], member)
    before = database_state()
    response = as_user(client, people["agent2"]).post(credit_url(member), form_data(member))
    assert (f"There is already an open credit request for points for this member (#{first.pk}"
            in response.content.decode())
    assert database_state() == before
    # The page lists the open request so the agent can find it.
    assert reverse("admin:rewards_adjustment_change", args=[first.pk]) in response.content.decode()


@pytest.mark.parametrize("role", ["approver", "auditor", "admin"])
def test_roles_without_the_permission_cannot_request(client, people, member, role):
    as_user(client, people[role])
    before = database_state()
    assert client.get(credit_url(member)).status_code == 403
    assert client.post(credit_url(member), form_data(member)).status_code == 403
    assert client.post(debit_url(member), form_data(member)).status_code == 403
    assert database_state() == before
