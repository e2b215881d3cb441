"""The admin's home per role: tiles of what needs a person, each opening a list the role may
open, and the 30-day charts of what the role may read."""

import json
from decimal import Decimal

import pytest
from django.contrib.auth.models import User

from accounts.models import Member
from rewards.services.adjustments import adjustment_request
from tests.support.webhooks import notification_body

pytestmark = pytest.mark.django_db


@pytest.fixture
def activity(webhook, people):
    webhook.post("confirmation", notification_body("confirmation", "tx-seed", amount="100.00"))
    webhook.post("pending", notification_body("pending", "tx-2", amount="7.00"))
    member = Member.objects.get(pomelo_user_id="usr-1")
    adjustment_request(maker=people["agent"], member=member, card=member.cards.first(),
                       account_type="points", direction="credit", amount="25.00",
                       reason_code="goodwill", reason_text="late delivery")


def home(client, user):
    client.force_login(user)
    response = client.get("/admin/")
    assert response.status_code == 200
    return response


@pytest.mark.parametrize(
    ("role", "tiles", "charts"),
    [
        ("agent", ["approvals", "adjustments"], ["rewards", "adjustments", "turnaround"]),
        ("approver", ["approvals", "adjustments"], ["rewards", "adjustments", "turnaround"]),
        ("auditor", ["approvals", "adjustments", "deliveries", "inbox_lag", "drift"],
         ["rewards", "adjustments", "turnaround"]),
        ("admin", ["approvals", "adjustments", "deliveries", "inbox_lag", "drift"],
         ["rewards", "adjustments", "turnaround"]),
    ],
)
def test_each_role_sees_the_tiles_and_charts_it_may_open(client, people, activity, role, tiles, charts):
    response = home(client, people[role])
    assert [t.key for t in response.context["operations_tiles"]] == tiles
    sections = response.context["operations_charts"]
    assert [s["account_type"] for s in sections][:3] == ["points", "cashback", "miles"]
    assert [c["key"] for c in sections[0]["charts"]] == charts
    # Every tile opens a page this role is allowed to see.
    for tile in response.context["operations_tiles"]:
        assert client.get(tile.href).status_code == 200, (role, tile.key, tile.href)


def test_the_approver_tile_counts_their_own_queue_and_the_charts_hold_the_days_figures(
    client, people, activity
):
    tiles = {t.key: t for t in home(client, people["approver"]).context["operations_tiles"]}
    assert tiles["approvals"].href.endswith("?queue=mine") and tiles["approvals"].value == "1"
    assert tiles["approvals"].tone == "attention"
    # The agent made the request: nothing in their own queue, the count of all waiting shown.
    tiles = {t.key: t for t in home(client, people["agent"]).context["operations_tiles"]}
    assert tiles["approvals"].href.endswith("?state__exact=pending_approval")

    sections = home(client, people["auditor"]).context["operations_charts"]
    rewards = json.loads(sections[0]["charts"][0]["data"])
    by_label = {d["label"]: d["data"] for d in rewards["datasets"]}
    assert len(rewards["labels"]) == 30 and by_label["Pending"][-1] == 1 and by_label["Confirmed"][-1] == 1
    assert sections[0]["charts"][0]["summary"] == "1 pending, 1 confirmed, 0 cancelled"
    assert Decimal(str(sum(json.loads(sections[0]["charts"][1]["data"])["datasets"][0]["data"]))) == 0


def test_a_role_without_lists_to_watch_gets_no_tiles(client, make_staff, db):
    nobody = User.objects.create_user("nobody", password="pw", is_staff=True)
    response = home(client, nobody)
    assert response.context["operations_tiles"] == [] and response.context["operations_charts"] == []


def test_the_home_costs_a_fixed_handful_of_queries(client, people, activity, webhook,
                                                   django_assert_max_num_queries):
    client.force_login(people["admin"])
    client.get("/admin/")  # warm the content types and permission caches
    with django_assert_max_num_queries(25):
        client.get("/admin/")
    for n in range(5):  # more rows, same queries
        webhook.post("pending", notification_body("pending", f"tx-more-{n}"))
    with django_assert_max_num_queries(25):
        client.get("/admin/")
