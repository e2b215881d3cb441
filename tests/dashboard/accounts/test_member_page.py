"""The member page: balances, the live balance check at Pomelo, the request buttons and the
timeline, for each role."""

from datetime import timedelta
from decimal import Decimal

import pytest
import responses
from django.urls import reverse
from django.utils import timezone

from accounts.models import BalanceSnapshot, Card, Member
from rewards.models import AuditEntry, RewardEvent
from rewards.selectors import member_timeline
from rewards.services.adjustments import adjustment_reject
from tests.support.adjustments import make_request
from tests.support.pages import as_user, database_state, messages_of
from tests.support.pomelo_http import BALANCE_URL
from tests.support.webhooks import notification_body

pytestmark = pytest.mark.django_db


def page(member):
    return reverse("admin:accounts_member_change", args=[member.pk])


def check_url(member):
    return reverse("admin:accounts_member_check_balance", args=[member.pk])


@pytest.mark.parametrize(
    ("role", "check", "request_buttons"),
    [
        ("agent", True, True),
        ("approver", True, False),
        ("auditor", False, False),
        ("admin", True, False),
    ],
)
def test_each_role_sees_balances_and_only_its_own_buttons(client, people, member, role, check,
                                                          request_buttons):
    response = as_user(client, people[role]).get(page(member))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="balances"' in html and "100.00" in html and 'id="timeline"' in html
    assert ("Check balance at Pomelo" in html) is check
    assert (reverse("admin:accounts_member_request_credit", args=[member.pk]) in html) is request_buttons
    assert (reverse("admin:accounts_member_request_debit", args=[member.pk]) in html) is request_buttons


def test_finance_auditor_sees_nothing_that_changes_anything(client, people, member):
    html = as_user(client, people["auditor"]).get(page(member)).content.decode()
    for word in ("Check balance at Pomelo", "Request credit", "Request debit", 'name="_save"',
                 "deletelink"):
        assert word not in html, word


def test_balance_check_shows_pomelo_beside_our_ledger(client, people, member, pomelo):
    pomelo.add(responses.GET, BALANCE_URL, json={"data": {"points": 100, "cashback": "0"}})
    response = as_user(client, people["agent"]).post(check_url(member), follow=True)
    assert response.status_code == 200
    assert "Pomelo's balances match our ledger." in messages_of(response)
    snapshot = BalanceSnapshot.objects.get()
    assert snapshot.requested_by == people["agent"] and snapshot.card is None
    assert snapshot.balances == {"cashback": "0", "points": "100"}
    assert "user_id=usr-1" in pomelo.calls[-1].request.url
    lines = {line.account_type: line for line in response.context["snapshot_lines"]}
    assert lines["points"].pomelo == Decimal("100") and not lines["points"].differs
    entry = AuditEntry.objects.get(action="balance_checked")
    assert entry.actor == people["agent"] and entry.member == member and entry.ip_address == "127.0.0.1"


def test_balance_check_by_card_highlights_a_difference(client, people, member, pomelo):
    pomelo.add(responses.GET, BALANCE_URL, json={"points": "90.50"})
    card = Card.objects.get(pomelo_card_id="crd-1")
    response = as_user(client, people["agent"]).post(check_url(member), {"card": card.pk}, follow=True)
    assert "card_id=crd-1" in pomelo.calls[-1].request.url
    [message] = messages_of(response)
    assert "differs from our ledger" in message and "Points: Pomelo 90.50, our ledger 100.00" in message
    html = response.content.decode()
    assert 'class="bo-differs"' in html and "−9.50" in html
    assert BalanceSnapshot.objects.get().card == card


@pytest.mark.parametrize(
    ("status", "body", "words"),
    [
        (503, {"error": {"message": "maintenance"}}, "Pomelo did not give the balance"),
        (404, {"error": {"code": "NOT_FOUND", "message": "user not found"}}, "user not found"),
    ],
)
def test_pomelo_errors_become_a_message_not_an_error_page(client, people, member, pomelo, status,
                                                          body, words):
    pomelo.add(responses.GET, BALANCE_URL, json=body, status=status)
    response = as_user(client, people["agent"]).post(check_url(member), follow=True)
    assert response.status_code == 200
    [message] = messages_of(response)
    assert words in message
    snapshot = BalanceSnapshot.objects.get()
    assert snapshot.error and snapshot.status_code == status
    assert "Pomelo did not give the balance" in response.content.decode()


def test_pomelo_unreachable_is_a_message(client, people, member, pomelo):
    # No balance route registered: `responses` refuses the connection, as a dead host would.
    response = as_user(client, people["agent"]).post(check_url(member), follow=True)
    assert response.status_code == 200
    [message] = messages_of(response)
    assert message.startswith("Pomelo did not give the balance")


def test_a_card_of_another_member_is_refused(client, people, member, webhook, pomelo):
    webhook.post("pending", notification_body("pending", "ctx-2", user="usr-2", card="crd-2"))
    other_card = Card.objects.get(pomelo_card_id="crd-2")
    before = database_state()
    response = as_user(client, people["agent"]).post(check_url(member), {"card": other_card.pk},
                                                     follow=True)
    assert messages_of(response) == ["Choose one of the member's cards, or none."]
    assert database_state() == before and not pomelo.calls


@pytest.mark.parametrize("role", ["auditor"])
def test_balance_check_without_permission_is_refused(client, people, member, pomelo, role):
    before = database_state()
    response = as_user(client, people[role]).post(check_url(member))
    assert response.status_code == 403
    assert database_state() == before and not pomelo.calls


def test_balance_check_is_post_only(client, people, member, pomelo):
    assert as_user(client, people["agent"]).get(check_url(member)).status_code == 405
    assert not BalanceSnapshot.objects.exists()


def test_anonymous_users_are_sent_to_login(client, member):
    response = client.post(check_url(member))
    assert response.status_code == 302 and "/login/" in response["Location"]
    assert not BalanceSnapshot.objects.exists()


def test_timeline_lists_everything_newest_first(client, people, member, webhook):
    webhook.post("pending", notification_body("pending", "ctx-2", amount="7.00"))
    adjustment = make_request(people["agent"], member)
    adjustment_reject(adjustment_id=adjustment.pk, approver=people["approver"], comment="no proof")
    BalanceSnapshot.objects.create(member=member, balances={"points": "100"},
                                   ledger_balances={"points": "100.00"},
                                   requested_by=people["agent"])
    response = as_user(client, people["agent"]).get(page(member))
    timeline = response.context["timeline"]
    times = [item.at for item in timeline]
    assert times == sorted(times, reverse=True)
    kinds = [item.kind for item in timeline]
    assert {"money", "adjustment", "audit", "snapshot"} <= set(kinds)
    titles = [item.title for item in timeline]
    assert f"Adjustment rejected (#{adjustment.pk})" in titles
    assert any(t.startswith("Credit (mint) requested (#") for t in titles)
    html = response.content.decode()
    assert "no proof" in html and reverse("admin:rewards_adjustment_change", args=[adjustment.pk]) in html


def test_timeline_is_bounded_and_costs_a_fixed_number_of_queries(people, member, webhook,
                                                                 django_assert_num_queries):
    for n in range(12):
        webhook.post("confirmation", notification_body("confirmation", f"ctx-{n}", amount="1.00"))
    for direction in ("credit", "debit"):
        make_request(people["agent"], member, direction=direction, amount="1.00")
    BalanceSnapshot.objects.create(member=member, balances={}, error="down",
                                   requested_by=people["agent"])
    with django_assert_num_queries(4):
        timeline = member_timeline(member=member, limit=5)
    assert len(timeline) == 5
    everything = member_timeline(member=member, limit=1000)
    assert timeline == everything[:5]


def test_timeline_shows_reward_stages_at_their_times(people, member, webhook):
    t0 = (timezone.now() - timedelta(days=2)).replace(microsecond=0)
    t1 = t0 + timedelta(hours=1)
    webhook.post("pending", notification_body("pending", "ctx-s", amount="5.00",
                                              created_at=t0.isoformat()))
    webhook.post("confirmation", notification_body("confirmation", "ctx-s", amount="5.00",
                                                   created_at=t1.isoformat()))
    event = RewardEvent.objects.get(transaction_id="ctx-s")
    items = [i for i in member_timeline(member=member) if i.reward_event_id == event.pk]
    assert [(i.title, i.at) for i in items] == [("Reward confirmed", t1), ("Reward pending", t0)]
    assert items[0].amount == Decimal("5.00") and items[1].amount is None
    # The seed reward (no time from Pomelo) happened now, so it comes first.
    assert member_timeline(member=member)[0].detail.startswith("transaction ctx-seed")


def test_unknown_member_is_404(client, people):
    response = as_user(client, people["agent"]).post(
        reverse("admin:accounts_member_check_balance", args=[999999]))
    assert response.status_code == 404
    assert not Member.objects.exists()


def test_requests_have_no_transaction_of_their_own(settings):
    # No transaction (on SQLite: the database's write lock) stays open while Pomelo answers:
    # the balance check's service refuses to run inside one (tests/rewards/test_transactions.py).
    assert settings.DATABASES["default"]["ATOMIC_REQUESTS"] is False
