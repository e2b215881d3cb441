"""What the soak run asserts, read straight from the database and the stand-in's books.

Import only after django.setup(). Each check returns a list of problems (empty: it holds) and
the figures it measured; the caller prints both.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from decimal import Decimal

from django.db.models import Max

from accounts.models import RewardAccount
from bench.lib.oracle import outcome_expected
from bench.soak_adjustments import Requested
from bench.soak_traffic import Ack
from rewards.models import Adjustment, LedgerEntry, RewardEvent
from sandbox.traffic import TrafficPlan
from webhooks.models import Delivery

Outcome = Delivery.Outcome
ANSWERED_OK = (Outcome.PROCESSED, Outcome.FLAGGED, Outcome.DUPLICATE)
CLAIMING = tuple(Delivery.CLAIMING_OUTCOMES)
ZERO = Decimal("0.00")
SHOWN = 8  # problems listed per check; the count is always complete


def _chunks(items: Sequence, size: int = 5000) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- deliveries -------------------------------------------------------------------------------


def delivery_high_water() -> int:
    return Delivery.objects.aggregate(top=Max("pk"))["top"] or 0


def deliveries_since(after_id: int) -> Counter:
    """Delivery rows recorded after `after_id`, by outcome."""
    rows = Delivery.objects.filter(pk__gt=after_id).values_list("outcome", flat=True)
    return Counter(rows)


def acks_check(acks: Sequence[Ack]) -> list[str]:
    """Every 2xx answer names a delivery row that holds that notification, answered as such."""
    problems = []
    wanted = {ack.delivery_id: ack for ack in acks if ack.delivery_id is not None}
    problems += [f"2xx for {a.kind} {a.key} without a delivery_id" for a in acks if a.delivery_id is None]
    found: dict[int, tuple[str, str, str]] = {}
    for chunk in _chunks(list(wanted)):
        for pk, kind, key, outcome in Delivery.objects.filter(pk__in=chunk).values_list(
            "pk", "kind", "idempotency_key", "outcome"
        ):
            found[pk] = (kind, key, outcome)
    for delivery_id, ack in wanted.items():
        row = found.get(delivery_id)
        if row is None:
            problems.append(
                f"acknowledged {ack.kind} {ack.key} (delivery #{delivery_id}) is not in the database"
            )
        elif row[:2] != (ack.kind, ack.key):
            problems.append(
                f"delivery #{delivery_id} holds {row[:2]}, but was acknowledged for {ack.kind} {ack.key}"
            )
        elif row[2] not in ANSWERED_OK:
            problems.append(f"acknowledged delivery #{delivery_id} ({ack.kind} {ack.key}) is {row[2]}")
    return problems


def claims(keys: Iterable[tuple[str, str]] | None = None) -> Counter:
    """(kind, idempotency_key) -> number of deliveries that claimed it (processed or flagged)."""
    rows = Delivery.objects.filter(outcome__in=CLAIMING).values_list("kind", "idempotency_key")
    counted = Counter(rows)
    if keys is None:
        return counted
    return Counter({key: counted.get(key, 0) for key in keys})


def claims_check(expected_keys: set[tuple[str, str]], all_expected: set[tuple[str, str]]) -> list[str]:
    """Each notification of the plan was claimed by exactly one delivery; nothing else was."""
    counted = claims()
    problems = [
        f"{kind} {key} claimed {counted.get((kind, key), 0)} times"
        for kind, key in sorted(expected_keys) if counted.get((kind, key), 0) != 1
    ]
    problems += [f"unexpected claim {kind} {key}" for kind, key in sorted(set(counted) - all_expected)]
    return problems


# --- reward events and their ledger entries ---------------------------------------------------


def rewards_check(plans: Sequence[TrafficPlan]) -> tuple[list[str], dict[str, int]]:
    """No reward applied twice: per reward event at most one entry per (bucket, sign), and its
    entries net to exactly what its final state holds; every event in the state the plan implies."""
    # The oracle leaves a cancelled reward's amount open (tombstone or reversal); its entries
    # must net to zero either way.
    expected = outcome_expected(n for plan in plans for n in plan.notifications).rewards
    events = {
        (tx, kind): (pk, state, amount, review)
        for pk, tx, kind, state, amount, review in RewardEvent.objects.values_list(
            "pk", "transaction_id", "account_type", "state", "amount", "needs_review"
        )
    }
    per_sign: Counter = Counter()
    totals: dict[tuple[int, str], Decimal] = defaultdict(Decimal)
    for event_id, bucket, amount in LedgerEntry.objects.filter(reward_event__isnull=False).values_list(
        "reward_event_id", "bucket", "amount"
    ):
        per_sign[(event_id, bucket, amount > 0)] += 1
        totals[(event_id, bucket)] += amount

    problems = [
        f"reward event #{event_id}: {n} {'credit' if positive else 'debit'} entries in {bucket}"
        for (event_id, bucket, positive), n in sorted(per_sign.items()) if n > 1
    ]
    for reward in sorted(set(expected) | set(events)):
        if reward not in events:
            problems.append(f"reward {reward} missing")
            continue
        if reward not in expected:
            problems.append(f"reward {reward} not in any plan")
            continue
        pk, state, amount, _ = events[reward]
        want_state, want_amount = expected[reward]
        if state != want_state:
            problems.append(f"reward {reward}: {state}, expected {want_state}")
            continue
        pending, available = totals.get((pk, "pending"), ZERO), totals.get((pk, "available"), ZERO)
        want = {
            RewardEvent.State.PENDING: (want_amount, ZERO),
            RewardEvent.State.CONFIRMED: (ZERO, want_amount),
            RewardEvent.State.CANCELLED: (ZERO, ZERO),
        }[want_state]
        if (pending, available) != want:
            problems.append(
                f"reward {reward} ({state}): entries net pending {pending}, available {available}; "
                f"expected {want[0]}, {want[1]}"
            )
    states = Counter(state for _, state, _, _ in events.values())
    figures = {
        "reward events": len(events),
        **{f"  {state}": n for state, n in sorted(states.items())},
        "  flagged for review": sum(1 for *_, review in events.values() if review),
        "ledger entries from rewards": sum(per_sign.values()),
    }
    return problems, figures


# --- adjustments ------------------------------------------------------------------------------


def adjustments_check(
    requested: Sequence[Requested], effects: dict[str, dict]
) -> tuple[list[str], dict[str, int]]:
    """Every SUCCEEDED adjustment applied at the stand-in exactly once and booked once here;
    every FAILED one applied nowhere; no effect at the stand-in that no adjustment explains."""
    ids = [r.adjustment_id for r in requested]
    rows = {
        pk: (state, key, signed, reason)
        for pk, state, key, signed, reason in (
            (a.pk, a.state, a.idempotency_key, a.signed_amount, a.failure_reason)
            for a in Adjustment.objects.filter(pk__in=ids)
        )
    }
    entries: dict[int, list[Decimal]] = defaultdict(list)
    for adjustment_id, amount in LedgerEntry.objects.filter(adjustment_id__in=ids).values_list(
        "adjustment_id", "amount"
    ):
        entries[adjustment_id].append(amount)
    problems = []
    for pk, (state, key, signed, reason) in sorted(rows.items()):
        applied = effects.get(key, {}).get("count", 0)
        booked = entries.get(pk, [])
        if state == Adjustment.State.SUCCEEDED:
            if applied != 1:
                problems.append(f"adjustment #{pk} succeeded, applied {applied} times at Pomelo (key {key})")
            if booked != [signed]:
                problems.append(f"adjustment #{pk} succeeded ({signed}), ledger entries {booked}")
        elif state == Adjustment.State.FAILED:
            if applied != 0:
                problems.append(f"adjustment #{pk} failed, applied {applied} times at Pomelo: {reason[:120]}")
            if booked:
                problems.append(f"adjustment #{pk} failed, ledger entries {booked}")
        else:
            problems.append(f"adjustment #{pk} still {state}")
    known = {key for _, key, _, _ in rows.values()}
    problems += [
        f"stand-in applied key {key} ({record.get('count')} times) that no adjustment of this run holds"
        for key, record in sorted(effects.items()) if record.get("count") and key not in known
    ]
    states = Counter(state for state, *_ in rows.values())
    failures = Counter(
        ("outage" if reason.startswith("Pomelo was unavailable") else reason[:80])
        for state, _, _, reason in rows.values() if state == Adjustment.State.FAILED
    )
    figures = {
        "adjustments": len(rows),
        **{f"  {state}": n for state, n in sorted(states.items())},
        **{f"  failed: {why}": n for why, n in sorted(failures.items())},
        "stand-in keys applied": sum(1 for r in effects.values() if r.get("count")),
        "stand-in requests for them": sum(r.get("requests", 0) for r in effects.values()),
        "stand-in replays (same key answered again)": sum(r.get("replays", 0) for r in effects.values()),
        "stand-in idempotency conflicts": sum(r.get("conflicts", 0) for r in effects.values()),
    }
    return problems, figures


# --- balances against the stand-in ------------------------------------------------------------


def balances_check(pomelo_state: dict, account_types: Sequence[str]) -> tuple[list[str], dict[str, int]]:
    """Our available bucket equals the stand-in's balance for every member and account type."""
    ours: dict[tuple[str, str], Decimal] = {
        (user, kind): available
        for user, kind, available in RewardAccount.objects.values_list(
            "member__pomelo_user_id", "account_type", "available_balance"
        )
    }
    theirs: dict[tuple[str, str], Decimal] = {}
    for user_id, member in pomelo_state["members"].items():
        for kind in account_types:
            theirs[(user_id, kind)] = Decimal(member["balances"].get(kind, "0"))
    problems = []
    for pair in sorted(set(ours) | set(theirs)):
        if pair[0] not in pomelo_state["members"]:
            problems.append(f"{pair}: in our ledger, unknown to Pomelo")
            continue
        mine, pomelo = ours.get(pair, ZERO), theirs.get(pair, ZERO)
        if mine != pomelo:
            problems.append(f"{pair}: ledger available {mine}, Pomelo {pomelo} (difference {mine - pomelo})")
    figures = {
        "member x account type pairs compared": len(set(ours) | set(theirs)),
        "reward accounts in the ledger": len(ours),
        "pairs with a non-zero balance": sum(1 for v in theirs.values() if v),
    }
    return problems, figures


def shown(problems: Sequence[str]) -> list[str]:
    lines = list(problems[:SHOWN])
    if len(problems) > SHOWN:
        lines.append(f"... and {len(problems) - SHOWN} more")
    return lines


# --- the database's own view -------------------------------------------------------------------


def failed_deliveries() -> Counter:
    """Why deliveries answered 500, by the first words of their recorded error."""
    details = Delivery.objects.filter(outcome=Outcome.FAILED).values_list("detail", flat=True)
    return Counter(detail[:90] for detail in details)


def database_figures() -> dict[str, int]:
    """PostgreSQL's counters for this database (fresh with it): deadlocks and rollbacks."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT deadlocks, xact_commit, xact_rollback FROM pg_stat_database "
            "WHERE datname = current_database()"
        )
        deadlocks, commits, rollbacks = cursor.fetchone()
    return {"deadlocks detected": deadlocks, "transactions committed": commits,
            "transactions rolled back": rollbacks}
