"""Property: duplicates and any arrival order end in the same ledger as in-order delivery."""

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import RewardAccount
from rewards.models import RewardEvent
from rewards.selectors import ledger_mismatches
from tests.support.webhooks import notification_body

pytestmark = pytest.mark.django_db

LIFECYCLE_ORDER = {"pending": 0, "confirmation": 1, "cancellation": 2}

money = st.decimals(min_value=Decimal("0.01"), max_value=Decimal("500"), places=2)
signed_money = st.decimals(min_value=Decimal("-50"), max_value=Decimal("500"), places=2)


@st.composite
def reward(draw, index: int):
    kinds = draw(st.sets(st.sampled_from(list(LIFECYCLE_ORDER)), min_size=1))
    tx = f"ctx-{index}"
    user = draw(st.sampled_from(["usr-a", "usr-b"]))
    account_type = draw(st.sampled_from(["points", "cashback"]))
    amounts = {"pending": draw(money), "confirmation": draw(signed_money), "cancellation": None}
    # Pomelo may leave the member out of a cancellation: it must still cancel the reward,
    # whether it arrives before or after the reward's other notices.
    userless = {"cancellation": draw(st.booleans())}
    return [
        (kind, notification_body(kind, tx, user=None if userless.get(kind) else user,
                                 card=None if userless.get(kind) else f"crd-{user}",
                                 account_type=account_type, amount=amounts[kind]))
        for kind in sorted(kinds, key=LIFECYCLE_ORDER.get)
    ]


@st.composite
def traffic(draw):
    count = draw(st.integers(min_value=1, max_value=5))
    in_order = [delivery for i in range(count) for delivery in draw(reward(i))]
    # Redeliveries: the same notification again, under its own key or a fresh one.
    repeats = draw(st.lists(st.tuples(st.sampled_from(in_order), st.booleans()), max_size=8))
    copies = [
        (kind, {**body, "idempotency_key": body["idempotency_key"] + "-retry"} if new_key else body)
        for (kind, body), new_key in repeats
    ]
    shuffled = draw(st.permutations(in_order + copies))
    return in_order, shuffled


def _outcome():
    events = {
        (tx, account_type): (state, user)
        for tx, account_type, state, user in RewardEvent.objects.values_list(
            "transaction_id", "account_type", "state", "account__member__pomelo_user_id"
        )
    }
    accounts = {
        (a.member.pomelo_user_id, a.account_type): (a.pending_balance, a.available_balance)
        for a in RewardAccount.objects.select_related("member")
    }
    return events, accounts


def _deliver(webhook, deliveries):
    with transaction.atomic():
        for kind, body in deliveries:
            response = webhook.post(kind, body)
            assert response.status_code == 200, response.content
        assert ledger_mismatches() == []
        result = _outcome()
        transaction.set_rollback(True)
    return result


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(traffic())
def test_any_order_with_duplicates_matches_in_order_delivery(webhook, deliveries):
    in_order, shuffled = deliveries
    expected = _deliver(webhook, in_order)
    assert _deliver(webhook, shuffled) == expected
