"""The final ledger state that a set of loyalty notifications must produce, in any arrival order.

Shared by the benchmarks (which check what the server ended with) and the property test on
arrival order, so the rule is written once. Per reward (transaction, account type): cancelled if
any cancellation was sent (a cancellation first leaves a tombstone that later notices cannot
revive); otherwise confirmed at the confirmation's amount if one was sent; otherwise pending at
the pending amount. Duplicates change nothing.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

ZERO = Decimal("0.00")
Account = tuple[str, str]  # (Pomelo user id, account type)
Reward = tuple[str, str]  # (transaction id, account type)


@dataclass(frozen=True)
class Expected:
    # (pending, available) per account that holds rewards; any other account must hold zero.
    balances: dict[Account, tuple[Decimal, Decimal]]
    # (state, amount); the amount is None for a cancelled reward (a tombstone holds 0, a reversed
    # reward its booked amount: either is right).
    rewards: dict[Reward, tuple[str, Decimal | None]]


def outcome_expected(notifications: Iterable[tuple[str, Mapping]]) -> Expected:
    """`notifications`: (kind, body) pairs, kind one of pending, confirmation, cancellation."""
    by_reward: dict[Reward, dict[str, Mapping]] = {}
    for kind, body in notifications:
        by_reward.setdefault((body["transaction_id"], body["account_type"]), {})[kind] = body
    balances: dict[Account, tuple[Decimal, Decimal]] = {}
    rewards: dict[Reward, tuple[str, Decimal | None]] = {}
    for reward, sent in by_reward.items():
        if "cancellation" in sent:
            rewards[reward] = ("cancelled", None)
            continue
        state, kind = ("confirmed", "confirmation") if "confirmation" in sent else ("pending", "pending")
        amount = Decimal(str(sent[kind]["amount"]))
        rewards[reward] = (state, amount)
        user = next(body["user_id"] for body in sent.values() if body.get("user_id"))
        pending, available = balances.get((user, reward[1]), (ZERO, ZERO))
        if state == "confirmed":
            available += amount
        else:
            pending += amount
        balances[(user, reward[1])] = (pending, available)
    return Expected(balances=balances, rewards=rewards)


def outcome_differences(
    expected: Expected,
    *,
    balances: Mapping[Account, tuple[Decimal, Decimal]],
    rewards: Mapping[Reward, tuple[str, Decimal]],
) -> list[str]:
    """Every way the found balances and rewards differ from the expectation, one line each."""
    problems = []
    for account in sorted(set(expected.balances) | set(balances)):
        want, got = expected.balances.get(account, (ZERO, ZERO)), balances.get(account, (ZERO, ZERO))
        if want != got:
            problems.append(f"account {account}: expected pending/available {want}, found {got}")
    for reward in sorted(set(expected.rewards) | set(rewards)):
        want_state, want_amount = expected.rewards.get(reward, ("(none)", None))
        state, amount = rewards.get(reward, ("(none)", None))
        if state != want_state or (want_amount is not None and amount != want_amount):
            problems.append(f"reward {reward}: expected {want_state} {want_amount}, found {state} {amount}")
    return problems
