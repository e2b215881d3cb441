import pytest
from django.urls import reverse

from accounts.models import Member
from rewards.models import AuditEntry, LedgerEntry, RewardEvent
from tests.support.webhooks import notification_body
from webhooks.models import Delivery

pytestmark = pytest.mark.django_db

CHANGELISTS = [
    "admin:accounts_member_changelist",
    "admin:accounts_card_changelist",
    "admin:accounts_rewardaccount_changelist",
    "admin:rewards_rewardevent_changelist",
    "admin:rewards_ledgerentry_changelist",
    "admin:webhooks_delivery_changelist",
]


@pytest.fixture
def traffic(webhook):
    webhook.post("pending", notification_body("pending", "ctx-1", card_last_four="4242"))
    webhook.post("confirmation", notification_body("confirmation", "ctx-1"))
    webhook.post("pending", notification_body("pending", "ctx-2", user="usr-2", card="crd-2",
                                              card_last_four="1111"))
    webhook.post("pending", None, raw=b"{broken")


@pytest.mark.parametrize("name", CHANGELISTS)
def test_changelists_render_with_data(admin_client, traffic, name):
    response = admin_client.get(reverse(name))
    assert response.status_code == 200
    assert response.context["cl"].result_count > 0


@pytest.mark.parametrize("query", ["4242", "usr-1", "crd-1"])
def test_member_search_by_last_four_user_id_and_card_id(admin_client, traffic, query):
    response = admin_client.get(reverse("admin:accounts_member_changelist"), {"q": query})
    members = list(response.context["cl"].result_list)
    assert [m.pomelo_user_id for m in members] == ["usr-1"]


def test_member_page_shows_cards_and_balances(admin_client, traffic):
    member = Member.objects.get(pomelo_user_id="usr-1")
    response = admin_client.get(reverse("admin:accounts_member_change", args=[member.pk]))
    assert response.status_code == 200
    assert b"crd-1" in response.content and b"4242" in response.content
    assert b"10.00" in response.content


@pytest.mark.parametrize(
    ("model", "url"),
    [
        (RewardEvent, "admin:rewards_rewardevent_delete"),
        (LedgerEntry, "admin:rewards_ledgerentry_delete"),
        (Delivery, "admin:webhooks_delivery_delete"),
    ],
)
def test_financial_records_cannot_be_deleted_or_changed(admin_client, traffic, model, url):
    obj = model.objects.first()
    assert admin_client.post(reverse(url, args=[obj.pk]), {"post": "yes"}).status_code == 403
    assert model.objects.filter(pk=obj.pk).exists()
    change_url = url.replace("_delete", "_change")
    response = admin_client.get(reverse(change_url, args=[obj.pk]))
    assert response.status_code == 200 and b'name="_save"' not in response.content
    add_url = url.replace("_delete", "_add")
    assert admin_client.get(reverse(add_url)).status_code == 403


def test_bulk_delete_action_is_not_offered(admin_client, traffic):
    for name in CHANGELISTS:
        response = admin_client.get(reverse(name))
        assert b'value="delete_selected"' not in response.content, name


def test_reprocess_action_reports_each_outcome(admin_client, webhook, settings):
    settings.WEBHOOK_APPLY_MAX_ATTEMPTS = 1  # failed at once, for staff
    huge = "9000000000000000.00"
    webhook.post("confirmation", notification_body("confirmation", "ctx-a", amount=huge))
    webhook.post("confirmation", notification_body("confirmation", "ctx-b", amount=huge))
    failed = Delivery.objects.get(outcome="failed")
    processed = Delivery.objects.get(outcome="processed")
    url = reverse("admin:webhooks_delivery_changelist")
    payload = {"action": "reprocess", "_selected_action": [failed.pk, processed.pk]}

    response = admin_client.post(url, payload, follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert any(f"#{failed.pk}: failed" in t and "exceed" in t for t in texts), texts
    assert any(f"#{processed.pk}: processed — not reprocessed" in t for t in texts), texts

    webhook.post("cancellation", notification_body("cancellation", "ctx-a", amount=None))
    response = admin_client.post(url, payload, follow=True)
    texts = [str(m) for m in response.context["messages"]]
    assert any(f"#{failed.pk}: processed — created confirmed reward" in t for t in texts), texts
    failed.refresh_from_db()
    assert failed.outcome == "processed" and failed.attempts == 3
    audits = AuditEntry.objects.filter(action="delivery_reprocessed", actor_name="admin")
    assert audits.count() == 4
    assert {a.data["delivery"] for a in audits} == {failed.pk, processed.pk}
