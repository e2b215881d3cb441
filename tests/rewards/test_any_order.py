"""Property: duplicates and any arrival order end in the same ledger as in-order delivery, and
that ledger is the one the benchmarks' oracle expects from the notifications alone."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from accounts.models import RewardAccount
from bench.lib.oracle import outcome_differences, outcome_expected
from rewards.models import LedgerEntry, RewardEvent
from rewards.selectors import ledger_mismatches
from rewards.services.chain import chains_check
from tests.support.webhooks import notification_body
from webhooks.inbox import inbox_batch_apply
from webhooks.models import Delivery

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
    entries = sorted(
        LedgerEntry.objects.values_list(
            "reward_event__transaction_id", "reward_event__account_type", "account__member__pomelo_user_id",
            "bucket", "amount", "description",
        )
    )
    return events, accounts, entries


def _oracle_differences(deliveries):
    balances = {
        (a.member.pomelo_user_id, a.account_type): (a.pending_balance, a.available_balance)
        for a in RewardAccount.objects.select_related("member")
    }
    rewards = {
        (tx, account_type): (state, amount)
        for tx, account_type, state, amount in RewardEvent.objects.values_list(
            "transaction_id", "account_type", "state", "amount"
        )
    }
    return outcome_differences(outcome_expected(deliveries), balances=balances, rewards=rewards)


def _deliver(webhook, deliveries, batch_size=None):
    """Deliver in this order; with `batch_size`, store them all first and let the inbox apply
    them in batches of that size (otherwise each is applied as it arrives)."""
    with transaction.atomic():
        for kind, body in deliveries:
            response = webhook.post(kind, body)
            assert response.status_code == 200, response.content
        if batch_size is not None:
            while (report := inbox_batch_apply(limit=batch_size)).claimed:
                # Applied set-wise: the one-by-one fallback would hide a batch-path mistake.
                assert not report.one_by_one, report
            assert not Delivery.objects.filter(outcome=Delivery.Outcome.RECEIVED).exists()
            # Entries inserted in bulk are still linked, account by account, into sound chains.
            report = chains_check()
            assert report.sound, report.problems
        assert ledger_mismatches() == []
        assert _oracle_differences(deliveries) == []
        result = _outcome()
        transaction.set_rollback(True)
    return result


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(traffic())
def test_any_order_with_duplicates_matches_in_order_delivery(webhook, deliveries):
    in_order, shuffled = deliveries
    expected = _deliver(webhook, in_order)
    # Another order books other intermediate entries; rewards and balances end the same.
    assert _deliver(webhook, shuffled)[:2] == expected[:2]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(traffic(), st.integers(min_value=1, max_value=12))
def test_any_order_applied_in_batches_matches_one_by_one(webhook, deliveries, size):
    """The inbox worker's set-wise batches end where one-by-one delivery ends: same rewards,
    same balances, however the arrivals are cut into batches."""
    in_order, shuffled = deliveries
    one_by_one = _deliver(webhook, shuffled)
    with override_settings(WEBHOOK_APPLY_INLINE=False):
        batched = _deliver(webhook, shuffled, batch_size=size)
    assert batched == one_by_one  # the same ledger entries too
    assert batched[:2] == _deliver(webhook, in_order)[:2]
