"""The member page's story: each movement with its bucket and both balances after it."""

from decimal import Decimal

import pytest

from accounts.models import Member
from rewards.member_story_selectors import member_story
from tests.support.adjustments import approve, request
from tests.support.webhooks import notification_body

pytestmark = pytest.mark.django_db
D = Decimal


def test_a_cancelled_pending_reward_leaves_the_pending_bucket_not_the_available_one(webhook):
    webhook.post("confirmation", notification_body("confirmation", "tx-seed", amount="100.00"))
    webhook.post("pending", notification_body("pending", "tx-big", amount="644.02"))
    webhook.post("pending", notification_body("pending", "tx-ok", amount="5.00"))
    webhook.post("confirmation", notification_body("confirmation", "tx-ok", amount="5.50"))
    webhook.post("cancellation", notification_body("cancellation", "tx-big", amount="644.02"))
    rows = member_story(member=Member.objects.get(pomelo_user_id="usr-1"))

    assert [(r.title, r.pending_change, r.available_change, r.pending_after, r.available_after)
            for r in rows] == [
        ("Reward cancelled while pending", D("-644.02"), None, D("0.00"), D("105.50")),
        ("Reward confirmed", D("-5.00"), D("5.50"), D("644.02"), D("105.50")),
        ("Reward pending", D("5.00"), None, D("649.02"), D("100.00")),
        ("Reward pending", D("644.02"), None, D("644.02"), D("100.00")),
        ("Reward confirmed", None, D("100.00"), D("0.00"), D("100.00")),
    ]
    assert all(r.account_type == "points" and r.moves_money for r in rows)
    assert rows[0].detail.startswith("transaction tx-big")


def test_requests_move_nothing_until_they_succeed(
    people, member, sandbox_pomelo, django_capture_on_commit_callbacks, webhook
):
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "100"})
    credit = request(people, member, amount="25.00")
    request(people, member, direction="debit", amount="30.00")  # still waiting
    with django_capture_on_commit_callbacks(execute=True):
        approve(credit, people["approver"])
    # A cancellation Pomelo sent for a reward we never heard of: kept, nothing moved.
    webhook.post("cancellation", notification_body("cancellation", "tx-ghost", amount="3.00"))

    rows = member_story(member=member)
    money = [r for r in rows if r.moves_money]
    assert [(r.title, r.available_change, r.available_after) for r in money] == [
        (f"Manual credit #{credit.pk}", D("25.00"), D("125.00")),
        ("Reward confirmed", D("100.00"), D("100.00")),
    ]
    assert money[0].actor == "agent" and money[0].adjustment_id == credit.pk
    requests = [r for r in rows if r.kind == "adjustment"]
    assert sorted(r.requested for r in requests) == [D("-30.00"), D("25.00")]
    assert all(r.pending_change is None and r.available_change is None for r in requests)
    assert any(r.kind == "reward" and "no money moved" in r.title for r in rows)
    assert [r.at for r in rows] == sorted((r.at for r in rows), reverse=True)
    assert len(member_story(member=member, limit=2)) == 2
