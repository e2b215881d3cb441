"""The member page's story: each movement with its bucket and both balances after it."""

from decimal import Decimal

import pytest
from django.utils import translation
from django.utils.functional import Promise

from accounts.models import Member
from rewards.member_story_selectors import member_story
from rewards.selectors import member_timeline
from rewards.services.adjustments import adjustment_reject
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


def test_a_reward_cancelled_before_any_notice_is_told_apart_by_its_flag_not_its_title(webhook):
    webhook.post("confirmation", notification_body("confirmation", "tx-seed", amount="10.00"))
    webhook.post("cancellation", notification_body("cancellation", "tx-ghost", amount="3.00"))
    member = Member.objects.get(pomelo_user_id="usr-1")

    ghost = [i for i in member_timeline(member=member) if "tx-ghost" in str(i.detail)]
    assert [(i.kind, i.no_money_moved, i.amount) for i in ghost] == [("reward", True, None)]
    seed = [i for i in member_timeline(member=member) if "tx-seed" in str(i.detail)]
    assert [i.no_money_moved for i in seed] == [False]
    # The story keeps the ghost (it moved nothing) and leaves the seed's stage to its money row.
    rows = [r for r in member_story(member=member) if not r.moves_money]
    assert [r.reward_event_id for r in rows] == [ghost[0].reward_event_id]


def test_timeline_titles_are_translated_when_shown_not_when_read(webhook):
    webhook.post("pending", notification_body("pending", "tx-1", amount="5.00"))
    member = Member.objects.get(pomelo_user_id="usr-1")
    with translation.override("es"):
        rows = member_story(member=member)
    # Built under one language, the text waits for the one active when the page shows it.
    assert all(isinstance(r.title, Promise) for r in rows)
    with translation.override("de"):  # no catalogue: the English messages
        assert [str(r.title) for r in rows] == ["Reward pending"]
        assert [str(r.detail) for r in rows] == ["transaction tx-1 · card crd-1"]


def test_adjustment_requests_and_their_history_show_labels_not_codes(people, member):
    adjustment = request(people, member, direction="debit", amount="30.00")
    adjustment_reject(adjustment_id=adjustment.pk, approver=people["approver"], comment="no proof")
    with translation.override("de"):
        texts = {(r.kind, str(r.title), str(r.detail)) for r in member_story(member=member)}
    assert ("adjustment", f"Debit (burn) requested (#{adjustment.pk}), now rejected",
            "Goodwill: late delivery") in texts
    assert ("audit", f"Adjustment rejected (#{adjustment.pk})",
            "Pending approval → Rejected · no proof") in texts
