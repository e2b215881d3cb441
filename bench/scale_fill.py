"""A seeded, consistent loyalty database at any scale, written with COPY (psycopg).

Used by bench/admin_scale.py. Everything goes through `COPY … FROM STDIN` on a migrated
database: staff users in their role groups, members with cards (Pomelo card id and last four),
reward accounts, reward events in every state of the lifecycle with exactly the ledger entries
the services would have written, manual adjustments in every state with their approvals, audit
entries and (when they succeeded) ledger entries, balance snapshots, webhook deliveries and
reconciliation runs. Balance columns are the sums of the entries, kept in integer cents while
generating and written at the end, so `manage.py check_ledger` passes; the ledger and audit
tables only ever receive INSERTs (their PostgreSQL triggers refuse UPDATE and DELETE).

Foreign keys and constraints stay on: the rows are checked by the database as they arrive.
"""

from __future__ import annotations

import itertools
import json
import random
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import psycopg
from psycopg import sql

ACCOUNT_TYPES = ("points", "cashback", "miles")
# Share of members holding each account type (points: everyone).
ACCOUNT_TYPE_SHARE = {"points": 1.0, "cashback": 0.5, "miles": 0.3}
# ADJUSTMENT_SECOND_APPROVAL_ABOVE's default, in cents: above it two approvers are needed.
SECOND_APPROVAL_ABOVE_CENTS = {"points": 1_000_000, "cashback": 50_000, "miles": 1_000_000}
EXPIRY = timedelta(hours=72)  # ADJUSTMENT_EXPIRY_HOURS' default
HISTORY_DAYS = 730
DAY = 86_400.0
HOUR = 3_600.0

FIRST_NAMES = (
    "Ana", "Bruno", "Carla", "Diego", "Elena", "Facundo", "Gabriela", "Hugo", "Inés", "Javier",
    "Karina", "Lucas", "María", "Nicolás", "Olga", "Pablo", "Quique", "Rocío", "Santiago",
    "Tamara", "Ulises", "Valeria", "Walter", "Ximena", "Yanina", "Zoe",
)
LAST_NAMES = (
    "García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Pérez", "Gómez",
    "Díaz", "Sánchez", "Romero", "Sosa", "Álvarez", "Torres", "Ruiz", "Ramírez", "Flores",
    "Acosta", "Benítez", "Medina", "Herrera", "Suárez", "Aguirre", "Giménez", "Molina", "Silva",
)
REASONS = {
    "goodwill": "late delivery of the statement, goodwill credit agreed on the phone",
    "correction": "merchant category mapped wrong for two weeks; correcting the missed points",
    "dispute": "chargeback won by the member; restoring the reversed reward",
    "fraud": "reward earned on a fraudulent transaction confirmed by the risk team",
    "migration": "balance carried over from the previous program",
    "other": "manual fix requested by the program manager",
}

# Staff, by role group (created by the rewards migrations). Usernames are unique.
SUPERUSER = "bench-admin"
QUEUE_APPROVER = "bench-approver"  # approves nothing in the fill: its queue is every open request
AGENTS = 20
APPROVERS = 10


@dataclass(frozen=True)
class Scale:
    members: int
    events: int
    adjustments: int
    deliveries: int
    snapshots: int
    seed: int = 1

    def divided(self, factor: int) -> Scale:
        return replace(
            self,
            members=max(1, self.members // factor),
            events=self.events // factor,
            adjustments=self.adjustments // factor,
            deliveries=self.deliveries // factor,
            snapshots=self.snapshots // factor,
        )


@dataclass
class FillReport:
    counts: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    @property
    def total_rows(self) -> int:
        return sum(self.counts.values())

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


def _money(cents: int) -> str:
    sign = "-" if cents < 0 else ""
    cents = abs(cents)
    return f"{sign}{cents // 100}.{cents % 100:02d}"


def _copy(
    conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence]
) -> int:
    """COPY `rows` into `table` (one statement, so one transaction in autocommit mode)."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    n = 0
    with conn.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n


class _Timer:
    def __init__(self, report: FillReport, log: Callable[[str], None]):
        self.report, self.log = report, log

    def step(self, name: str, work: Callable[[], dict[str, int]]) -> None:
        started = time.perf_counter()
        counts = work()
        elapsed = time.perf_counter() - started
        self.report.seconds[name] = elapsed
        self.report.counts.update(counts)
        rows = sum(counts.values())
        rate = f", {rows / elapsed:,.0f} rows/s" if elapsed > 0 and rows else ""
        detail = ", ".join(f"{k} {v:,}" for k, v in counts.items())
        self.log(f"    {name:<34} {elapsed:6.1f} s  ({detail}{rate})")


class _Generator:
    """The fill's state: ids, per-account balances in cents, and the seeded random stream."""

    def __init__(self, conn: psycopg.Connection, scale: Scale, now: datetime):
        self.conn, self.scale = conn, scale
        self.rng = random.Random(scale.seed)
        self.now = now
        self.now_ts = now.timestamp()
        # Members (index = id - 1)
        self.member_created: list[float] = []
        self.member_weight: list[float] = []
        # Cards: contiguous ids per member
        self.card_start: list[int] = []
        self.card_count: list[int] = []
        # Accounts (index = id - 1)
        self.account_member: list[int] = []
        self.account_type: list[str] = []
        self.pending: list[int] = []  # cents
        self.available: list[int] = []
        self.member_accounts: list[list[int]] = []
        self.users: dict[str, list[int]] = {}
        self.usernames: dict[int, str] = {}
        self.next_ledger_id = 1
        self.next_audit_id = 1

    # --- helpers ------------------------------------------------------------------------

    def at(self, ts: float) -> datetime:
        return datetime.fromtimestamp(min(ts, self.now_ts), UTC)

    def later(self, ts: float, low: float, high: float, limit: float | None = None) -> float:
        """`ts` plus a random delay in [low, high]; when that passes `limit` (default: now), a
        random instant between `ts` and `limit` instead, so no two rows share a clamped time."""
        limit = self.now_ts if limit is None else limit
        after = ts + self.rng.uniform(low, high)
        return after if after < limit else ts + (limit - ts) * self.rng.random()

    def uid(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def member_card(self, member_id: int) -> int:
        i = member_id - 1
        return self.card_start[i] + self.rng.randrange(self.card_count[i])

    # --- staff --------------------------------------------------------------------------

    def staff(self) -> dict[str, int]:
        groups = dict(self.conn.execute("SELECT name, id FROM auth_group").fetchall())
        people: list[tuple[str, bool, str | None]] = [(SUPERUSER, True, None)]
        people += [(f"agent-{i:02d}", False, "Support agent") for i in range(1, AGENTS + 1)]
        people += [(f"approver-{i:02d}", False, "Approver") for i in range(1, APPROVERS + 1)]
        people += [(QUEUE_APPROVER, False, "Approver"), ("auditor-01", False, "Finance auditor")]
        joined = self.at(self.now_ts - HISTORY_DAYS * DAY - 30 * DAY)
        users, memberships = [], []
        for user_id, (username, superuser, group) in enumerate(people, start=1):
            # "!" is an unusable password: the bench logs in with force_login.
            users.append((user_id, "!", None, superuser, username, "", "", f"{username}@bench.test",
                          True, True, joined))
            if group:
                memberships.append((user_id, groups[group]))
                self.users.setdefault(group, []).append(user_id)
            self.usernames[user_id] = username
        self.users["Approver"] = [
            u for u in self.users["Approver"] if self.usernames[u] != QUEUE_APPROVER
        ]
        n = _copy(self.conn, "auth_user", [
            "id", "password", "last_login", "is_superuser", "username", "first_name", "last_name",
            "email", "is_staff", "is_active", "date_joined",
        ], users)
        m = _copy(self.conn, "auth_user_groups", ["user_id", "group_id"], memberships)
        return {"users": n, "user groups": m}

    # --- members, cards, accounts ---------------------------------------------------------

    def members(self) -> dict[str, int]:
        rng, scale = self.rng, self.scale
        start = self.now_ts - HISTORY_DAYS * DAY
        span = (HISTORY_DAYS - 30) * DAY
        statuses = ("active",) * 95 + ("blocked",) * 4 + ("closed",)

        def member_rows():
            for member_id in range(1, scale.members + 1):
                created = start + rng.random() * span
                self.member_created.append(created)
                # Heavy-tailed activity: a few members hold thousands of rewards.
                self.member_weight.append(min(rng.paretovariate(1.2), 400.0))
                first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
                at = self.at(created)
                yield (member_id, f"usr-{member_id:07d}", f"{first} {last}",
                       f"{first}.{last}.{member_id}@mail.test".lower(), rng.choice(statuses), at, at)

        n_members = _copy(self.conn, "accounts_member", [
            "id", "pomelo_user_id", "name", "email", "status", "created_at", "updated_at",
        ], member_rows())

        def card_rows():
            card_id = 1
            for i, created in enumerate(self.member_created):
                count = 1 + (rng.random() < 0.4) + (rng.random() < 0.1)
                self.card_start.append(card_id)
                self.card_count.append(count)
                for _ in range(count):
                    last_four = f"{rng.randrange(10_000):04d}" if rng.random() < 0.95 else ""
                    status = "active" if rng.random() < 0.9 else rng.choice(("blocked", "disabled"))
                    at = self.at(created + rng.random() * 30 * DAY)
                    yield (card_id, f"crd-{card_id:08d}", i + 1, last_four, status, at, at)
                    card_id += 1

        n_cards = _copy(self.conn, "accounts_card", [
            "id", "pomelo_card_id", "member_id", "last_four", "status", "created_at", "updated_at",
        ], card_rows())

        def account_rows():
            account_id = 1
            for i, created in enumerate(self.member_created):
                mine = []
                for account_type in ACCOUNT_TYPES:
                    if account_type != "points" and rng.random() >= ACCOUNT_TYPE_SHARE[account_type]:
                        continue
                    self.account_member.append(i + 1)
                    self.account_type.append(account_type)
                    self.pending.append(0)
                    self.available.append(0)
                    mine.append(account_id)
                    at = self.at(created)
                    # Balances are written at the end, once every entry is known.
                    yield (account_id, i + 1, account_type, "0.00", "0.00", at, at)
                    account_id += 1
                self.member_accounts.append(mine)

        n_accounts = _copy(self.conn, "accounts_rewardaccount", [
            "id", "member_id", "account_type", "pending_balance", "available_balance",
            "created_at", "updated_at",
        ], account_rows())
        return {"members": n_members, "cards": n_cards, "reward accounts": n_accounts}

    # --- reward events and their ledger entries -------------------------------------------

    def events(self) -> dict[str, int]:
        rng, scale = self.rng, self.scale
        n_accounts = len(self.account_member)
        if not n_accounts or not scale.events:
            return {"reward events": 0, "ledger entries (rewards)": 0}
        cumulative, total = [], 0.0
        for member_id in self.account_member:
            total += self.member_weight[member_id - 1]
            cumulative.append(total)
        picks = rng.choices(range(n_accounts), cum_weights=cumulative, k=scale.events)
        entries: list[tuple] = []
        event_columns = [
            "id", "transaction_id", "account_type", "account_id", "card_id", "state", "amount",
            "pending_at", "confirmed_at", "cancelled_at", "needs_review", "review_reason",
            "created_at", "updated_at",
        ]
        entry_columns = [
            "id", "account_id", "bucket", "amount", "reward_event_id", "adjustment_id",
            "description", "created_at",
        ]
        pending, available = self.pending, self.available
        now_ts = self.now_ts
        counts = {"reward events": 0, "ledger entries (rewards)": 0}

        def entry(account_id: int, bucket: str, cents: int, event_id: int, text: str, ts: float):
            entries.append((self.next_ledger_id, account_id, bucket, _money(cents), event_id, None,
                            text, self.at(ts)))
            self.next_ledger_id += 1
            if bucket == "pending":
                pending[account_id - 1] += cents
            else:
                available[account_id - 1] += cents

        def event_rows():
            for event_no, index in enumerate(picks, start=1):
                account_id = index + 1
                member_id = self.account_member[index]
                born = self.member_created[member_id - 1]
                card_id = self.member_card(member_id) if rng.random() < 0.97 else None
                booked = rng.randint(100, 500_000)
                confirmed = booked
                if rng.random() < 0.2:
                    confirmed = max(1, int(booked * rng.uniform(0.5, 1.1)))
                roll = rng.random()
                if roll < 0.12:  # still pending: authorized in the last few days
                    t0 = max(born, now_ts - rng.random() * 5 * DAY)
                else:
                    t0 = born + rng.random() * max(HOUR, now_ts - 6 * HOUR - born)
                t1 = self.later(t0, HOUR, 3 * DAY)
                t2 = self.later(t1, HOUR, 10 * DAY)
                pending_at = confirmed_at = cancelled_at = None
                needs_review, review_reason = False, ""
                if roll < 0.12:
                    state, amount, pending_at, last = "pending", booked, t0, t0
                    entry(account_id, "pending", booked, event_no, "reward pending", t0)
                elif roll < 0.74:  # pending, then confirmed
                    state, amount, pending_at, confirmed_at, last = "confirmed", confirmed, t0, t1, t1
                    entry(account_id, "pending", booked, event_no, "reward pending", t0)
                    entry(account_id, "pending", -booked, event_no, "reward confirmed: leaves pending", t1)
                    entry(account_id, "available", confirmed, event_no, "reward confirmed", t1)
                elif roll < 0.86:  # confirmation first (the pending arrived late or never)
                    state, amount, confirmed_at, last = "confirmed", confirmed, t1, t1
                    entry(account_id, "available", confirmed, event_no, "reward confirmed", t1)
                elif roll < 0.92:  # cancelled while pending
                    state, amount, pending_at, cancelled_at, last = "cancelled", booked, t0, t2, t2
                    entry(account_id, "pending", booked, event_no, "reward pending", t0)
                    entry(account_id, "pending", -booked, event_no, "reward cancelled while pending", t2)
                elif roll < 0.98:  # confirmed, then reversed
                    state, amount = "cancelled", confirmed
                    pending_at, confirmed_at, cancelled_at, last = t0, t1, t2, t2
                    entry(account_id, "pending", booked, event_no, "reward pending", t0)
                    entry(account_id, "pending", -booked, event_no, "reward confirmed: leaves pending", t1)
                    entry(account_id, "available", confirmed, event_no, "reward confirmed", t1)
                    entry(account_id, "available", -confirmed, event_no,
                          "reward cancelled after confirmation: reversal", t2)
                else:  # a cancellation before any other notice: a tombstone, no money
                    state, amount, cancelled_at, last = "cancelled", 0, t2, t2
                    if rng.random() < 0.5:
                        needs_review = True
                        review_reason = "confirmation arrived after the reward was cancelled"
                        last = self.later(t2, HOUR, DAY)
                first = pending_at or confirmed_at or cancelled_at
                yield (
                    event_no, f"ctx-{event_no:010d}", self.account_type[index], account_id, card_id,
                    state, _money(amount),
                    self.at(pending_at) if pending_at else None,
                    self.at(confirmed_at) if confirmed_at else None,
                    self.at(cancelled_at) if cancelled_at else None,
                    needs_review, review_reason, self.at(first), self.at(last),
                )

        # Events are committed in batches before their entries, so the entries' foreign keys
        # find them; each batch is one COPY of events, then one of their entries.
        batch = 100_000
        rows = event_rows()
        while n := _copy(self.conn, "rewards_rewardevent", event_columns, itertools.islice(rows, batch)):
            counts["reward events"] += n
            counts["ledger entries (rewards)"] += _copy(
                self.conn, "rewards_ledgerentry", entry_columns, entries
            )
            entries.clear()
        return counts

    # --- adjustments ----------------------------------------------------------------------

    def adjustments(self) -> dict[str, int]:
        rng, scale = self.rng, self.scale
        now_ts = self.now_ts
        n_accounts = len(self.account_member)
        if not n_accounts or not scale.adjustments:
            return {"adjustments": 0}
        agents = self.users["Support agent"]
        approvers = self.users["Approver"]
        states = (
            ("pending_approval", 0.06), ("approved", 0.004), ("submitting", 0.004),
            ("succeeded", 0.60), ("failed", 0.05), ("rejected", 0.12), ("cancelled", 0.06),
            ("expired", 0.102),
        )
        weights = [w for _, w in states]
        names = [s for s, _ in states]
        open_taken: set[tuple[int, str]] = set()  # (account, direction) with an open request
        adjustments, approvals, audits, entries = [], [], [], []
        approval_id = 0
        ip_pool = [f"10.20.{i // 250}.{i % 250 + 1}" for i in range(500)]

        def audit(action, actor, adjustment_id, member_id, from_state, to_state, comment, data, ts):
            audits.append((
                self.next_audit_id, action, actor, self.usernames[actor] if actor else "system",
                rng.choice(ip_pool) if actor else None, adjustment_id, member_id, from_state,
                to_state, comment, json.dumps(data), self.at(ts),
            ))
            self.next_audit_id += 1

        for adjustment_id in range(1, scale.adjustments + 1):
            state = rng.choices(names, weights)[0]
            is_open = state in ("pending_approval", "approved", "submitting")
            for _attempt in range(20):
                index = rng.randrange(n_accounts)
                direction = "debit" if rng.random() < 0.3 else "credit"
                if not is_open or (index, direction) not in open_taken:
                    break
            else:
                state, is_open = "expired", False
            if is_open:
                open_taken.add((index, direction))
            account_id = index + 1
            account_type = self.account_type[index]
            member_id = self.account_member[index]
            card_id = self.member_card(member_id)
            high = SECOND_APPROVAL_ABOVE_CENTS[account_type]
            cents = rng.randint(100, high // 4) if rng.random() < 0.9 else rng.randint(high + 1, high * 3)
            override = False
            if direction == "debit" and cents > self.available[index]:
                override = rng.random() < 0.3
                if not override:
                    cents = max(1, min(cents, self.available[index] // 2))
                    override = cents > self.available[index]
            required = 2 if cents > high else 1
            reason_code = rng.choice(tuple(REASONS))
            reason_text = REASONS[reason_code]
            maker = rng.choice(agents)
            if is_open:
                created = now_ts - rng.random() * (EXPIRY.total_seconds() - 2 * HOUR)
            else:
                born = self.member_created[member_id - 1]
                created = born + rng.random() * max(HOUR, now_ts - 4 * DAY - born)
            expires = created + EXPIRY.total_seconds()
            key = f"adj-{rng.getrandbits(96):024x}"
            approved_at = submitted_at = completed_at = None
            status_code, request, response, reference, failure = None, None, "", "", ""
            attempts = 0
            signed = cents if direction == "credit" else -cents
            audit("adjustment_requested", maker, adjustment_id, member_id, "", "pending_approval",
                  reason_text, {
                      "amount": _money(cents), "direction": direction, "account_type": account_type,
                      "reason_code": reason_code, "card": f"crd-{card_id:08d}",
                      "above_balance_requested": override, "idempotency_key": key,
                  }, created)
            ts = created
            chosen = rng.sample(approvers, 2)
            given = 0
            if state == "pending_approval" and required == 2 and rng.random() < 0.5:
                given = 1
            elif state in ("approved", "submitting", "succeeded", "failed"):
                given = required
            for n in range(1, given + 1):
                ts = self.later(ts, 10 * 60, 20 * HOUR, min(expires, now_ts))
                approval_id += 1
                comment = "checked the statement and the member's history"
                approvals.append((approval_id, adjustment_id, chosen[n - 1], comment, self.at(ts)))
                to_state = "approved" if n == required else "pending_approval"
                audit("adjustment_approved", chosen[n - 1], adjustment_id, member_id,
                      "pending_approval", to_state, comment,
                      {"approval": n, "of": required, "balance_override": override}, ts)
                if n == required:
                    approved_at = ts
            if state in ("submitting", "succeeded", "failed"):
                ts = self.later(ts, 1, 30)
                submitted_at, attempts = ts, 1
                audit("adjustment_submitting", None, adjustment_id, member_id, "approved",
                      "submitting", "", {"attempt": 1, "idempotency_key": key}, ts)
            if state in ("succeeded", "failed"):
                ts = self.later(ts, 0.2, 5)
                completed_at = ts
                request = {"method": "POST", "path": f"/loyalty/v1/{'mint' if signed > 0 else 'burn'}",
                           "body": {"card_id": f"crd-{card_id:08d}", "account_type": account_type,
                                    "amount": _money(cents)}}
                if state == "succeeded":
                    status_code, reference = 200, f"mov-{rng.getrandbits(64):016x}"
                    response = json.dumps({"id": reference, "status": "APPROVED"})
                else:
                    status_code = rng.choice((409, 422, 503))
                    response = json.dumps({"error": {"code": "REFUSED", "status": status_code}})
                    failure = (f"Pomelo refused it: {status_code}" if status_code != 503 else
                               "Pomelo was unavailable after retries; an approver can retry with "
                               "the same idempotency key. 503")
                audit("pomelo_exchange", None, adjustment_id, member_id, "submitting", "submitting",
                      "", {"request": request, "status_code": status_code, "response": response,
                           "attempts": 1}, ts)
                audit(f"adjustment_{state}", None, adjustment_id, member_id, "submitting", state,
                      failure, {"pomelo_reference": reference} if reference else {}, ts)
                if state == "succeeded":
                    entries.append((self.next_ledger_id, account_id, "available", _money(signed),
                                    None, adjustment_id, f"manual {direction} #{adjustment_id}",
                                    self.at(ts)))
                    self.next_ledger_id += 1
                    self.available[index] += signed
            if state == "rejected":
                ts = completed_at = self.later(ts, HOUR, 48 * HOUR, expires)
                approver = chosen[0]
                audit("adjustment_rejected", approver, adjustment_id, member_id, "pending_approval",
                      "rejected", "not supported by the transaction history", {}, ts)
            elif state == "cancelled":
                ts = self.later(ts, 10 * 60, 24 * HOUR, expires)
                audit("adjustment_cancelled", maker, adjustment_id, member_id, "pending_approval",
                      "cancelled", "requested twice by mistake", {}, ts)
            elif state == "expired":
                ts = expires + rng.uniform(60, 2 * HOUR)
                audit("adjustment_expired", None, adjustment_id, member_id, "pending_approval",
                      "expired", "not approved within 72 h", {}, ts)
            adjustments.append((
                adjustment_id, member_id, card_id, account_type, direction, _money(cents),
                reason_code, reason_text, maker, state, required, override, key,
                self.at(created), self.at(max(ts, created)), datetime.fromtimestamp(expires, UTC),
                self.at(approved_at) if approved_at else None,
                self.at(submitted_at) if submitted_at else None,
                self.at(completed_at) if completed_at else None,
                attempts, status_code, json.dumps(request) if request else None, response,
                reference, failure,
            ))
        counts = {}
        counts["adjustments"] = _copy(self.conn, "rewards_adjustment", [
            "id", "member_id", "card_id", "account_type", "direction", "amount", "reason_code",
            "reason_text", "maker_id", "state", "approvals_required", "balance_override",
            "idempotency_key", "created_at", "updated_at", "expires_at", "approved_at",
            "submitted_at", "completed_at", "submit_attempts", "pomelo_status_code",
            "pomelo_request", "pomelo_response", "pomelo_reference", "failure_reason",
        ], adjustments)
        counts["approvals"] = _copy(self.conn, "rewards_approval", [
            "id", "adjustment_id", "approver_id", "comment", "created_at",
        ], approvals)
        counts["audit entries (adjustments)"] = self._copy_audit(audits)
        counts["ledger entries (adjustments)"] = _copy(self.conn, "rewards_ledgerentry", [
            "id", "account_id", "bucket", "amount", "reward_event_id", "adjustment_id",
            "description", "created_at",
        ], entries)
        return counts

    def _copy_audit(self, rows: list[tuple]) -> int:
        return _copy(self.conn, "rewards_auditentry", [
            "id", "action", "actor_id", "actor_name", "ip_address", "adjustment_id", "member_id",
            "from_state", "to_state", "comment", "data", "created_at",
        ], rows)

    # --- balance snapshots ----------------------------------------------------------------

    def snapshots(self) -> dict[str, int]:
        rng, scale = self.rng, self.scale
        staff = self.users["Support agent"] + self.users["Approver"]
        snapshots, audits = [], []
        for snapshot_id in range(1, scale.snapshots + 1):
            member_id = rng.randrange(1, scale.members + 1)
            born = self.member_created[member_id - 1]
            ts = born + rng.random() * max(HOUR, self.now_ts - HOUR - born)
            card_id = self.member_card(member_id) if rng.random() < 0.8 else None
            actor = rng.choice(staff)
            ledger_cents = {
                self.account_type[a - 1]: self.available[a - 1] for a in self.member_accounts[member_id - 1]
            }
            ledger = {kind: _money(cents) for kind, cents in ledger_cents.items()}
            if rng.random() < 0.05:
                balances, status, raw, error = {}, 503, '{"error": "unavailable"}', "Pomelo unavailable (503)"
            else:
                balances = dict(ledger)
                if balances and rng.random() < 0.02:  # Pomelo and our ledger differ
                    kind = rng.choice(tuple(balances))
                    balances[kind] = _money(ledger_cents[kind] + rng.randint(1, 10_000))
                status, raw, error = 200, json.dumps({"balances": balances}), ""
            snapshots.append((snapshot_id, member_id, card_id, json.dumps(balances), json.dumps(ledger),
                              status, raw, error, actor, self.at(ts)))
            audits.append((self.next_audit_id, "balance_checked", actor, self.usernames[actor],
                           "10.30.0.1", None, member_id, "", "", "",
                           json.dumps({"snapshot": snapshot_id, "status_code": status}), self.at(ts)))
            self.next_audit_id += 1
        counts = {"balance snapshots": _copy(self.conn, "accounts_balancesnapshot", [
            "id", "member_id", "card_id", "balances", "ledger_balances", "status_code",
            "raw_response", "error", "requested_by_id", "created_at",
        ], snapshots)}
        counts["audit entries (balance checks)"] = self._copy_audit(audits)
        return counts

    # --- webhook deliveries ---------------------------------------------------------------

    def deliveries(self) -> dict[str, int]:
        rng, scale = self.rng, self.scale
        outcomes = (("processed", 0.85), ("duplicate", 0.08), ("rejected", 0.04), ("flagged", 0.02),
                    ("failed", 0.01))
        names = [o for o, _ in outcomes]
        weights = [w for _, w in outcomes]
        status_of = {"processed": 200, "duplicate": 200, "flagged": 200, "rejected": 401, "failed": 500}
        start = self.now_ts - 180 * DAY
        claimed: list[tuple[str, str]] = []

        def rows():
            for delivery_id in range(1, scale.deliveries + 1):
                outcome = rng.choices(names, weights)[0]
                kind = rng.choice(("pending", "confirmation", "cancellation"))
                key = self.uid()
                if outcome == "duplicate" and claimed:
                    kind, key = rng.choice(claimed)
                elif outcome in ("processed", "flagged"):
                    claimed.append((kind, key))
                member_id = rng.randrange(1, scale.members + 1)
                payload = {
                    "event_id": self.uid(), "idempotency_key": key, "user_id": f"usr-{member_id:07d}",
                    "card_id": f"crd-{self.member_card(member_id):08d}",
                    "transaction_id": f"ctx-ext-{delivery_id:010d}", "account_type": "points",
                    "amount": _money(rng.randint(100, 500_000)),
                }
                received = start + (delivery_id / max(1, scale.deliveries)) * (self.now_ts - start - 60)
                endpoint = f"/webhooks/pomelo/loyalty/{kind}"
                headers = {"content-type": "application/json", "x-endpoint": endpoint,
                           "x-timestamp": str(int(received)), "x-api-key": "[removed]"}
                detail = {
                    "processed": f"created {kind} reward", "duplicate": "already processed",
                    "rejected": "signature does not match", "flagged": "no transaction id: review",
                    "failed": "database unavailable",
                }[outcome]
                yield (delivery_id, kind, endpoint, json.dumps(headers), json.dumps(payload).encode(),
                       "Lp0g+cwb19eE", "34.226.254.178", self.at(received), payload["event_id"], key,
                       outcome, status_of[outcome], detail, detail if outcome == "flagged" else "",
                       self.at(received + 0.05) if outcome != "rejected" else None,
                       1 if outcome != "rejected" else 0)

        return {"webhook deliveries": _copy(self.conn, "webhooks_delivery", [
            "id", "kind", "endpoint", "headers", "body", "api_key", "remote_addr", "received_at",
            "event_id", "idempotency_key", "outcome", "http_status", "detail", "review", "processed_at",
            "attempts",
        ], rows())}

    # --- reconciliation -------------------------------------------------------------------

    def reconciliation(self) -> dict[str, int]:
        """Three runs: two older ones over a tenth of the accounts, the latest over all."""
        rng = self.rng
        n_accounts = len(self.account_member)
        admin_id = 1
        runs, results = [], []
        result_id = 0
        for run_id, (days_ago, share) in enumerate(((30, 0.1), (7, 0.1), (1, 1.0)), start=1):
            started = self.now_ts - days_ago * DAY
            drifting = errors = 0
            accounts = range(n_accounts) if share >= 1 else sorted(
                rng.sample(range(n_accounts), int(n_accounts * share))
            )
            for index in accounts:
                result_id += 1
                ledger = self.available[index]
                roll = rng.random()
                who = (self.account_member[index], self.account_type[index], "")
                if roll < 0.002:
                    results.append((result_id, run_id, index + 1, _money(ledger), None, None, False,
                                    "Pomelo unavailable (503)", self.at(started + 60), *who))
                    errors += 1
                    continue
                pomelo = ledger + ((rng.randint(-5_000, 5_000) or 1) if roll < 0.01 else 0)
                drift = pomelo != ledger
                drifting += drift
                results.append((result_id, run_id, index + 1, _money(ledger), _money(pomelo),
                                _money(pomelo - ledger), drift, "", self.at(started + 60), *who))
            members = len({self.account_member[i] for i in accounts})
            runs.append((run_id, self.at(started), self.at(started + 1800), "finished", admin_id,
                         members, drifting, errors, 0, "[]"))
        counts = {"reconciliation runs": _copy(self.conn, "rewards_reconciliationrun", [
            "id", "started_at", "finished_at", "status", "started_by_id", "members_checked",
            "accounts_drifting", "errors", "adjustments_unsettled", "unsettled_adjustments",
        ], runs)}
        counts["reconciliation results"] = _copy(self.conn, "rewards_reconciliationresult", [
            "id", "run_id", "account_id", "ledger_available", "pomelo_available", "difference",
            "drifting", "error", "checked_at", "member_id", "account_type", "note",
        ], results)
        return counts

    # --- balances and sequences -----------------------------------------------------------

    def balances(self) -> dict[str, int]:
        """Write each account's balance columns: the sums of its entries, kept in cents."""
        with self.conn.transaction():
            self.conn.execute(
                "CREATE TEMPORARY TABLE bench_balance (id bigint PRIMARY KEY, pending numeric(18,2), "
                "available numeric(18,2)) ON COMMIT DROP"
            )
            rows = (
                (i + 1, _money(p), _money(a))
                for i, (p, a) in enumerate(zip(self.pending, self.available, strict=True))
                if p or a
            )
            n = _copy(self.conn, "bench_balance", ["id", "pending", "available"], rows)
            self.conn.execute(
                "UPDATE accounts_rewardaccount AS a SET pending_balance = b.pending, "
                "available_balance = b.available FROM bench_balance AS b WHERE a.id = b.id"
            )
        return {"balances written": n}

    def sequences(self) -> dict[str, int]:
        tables = [
            "auth_user", "auth_user_groups", "accounts_member", "accounts_card",
            "accounts_rewardaccount", "accounts_balancesnapshot", "rewards_rewardevent",
            "rewards_ledgerentry", "rewards_adjustment", "rewards_approval", "rewards_auditentry",
            "rewards_reconciliationrun", "rewards_reconciliationresult", "webhooks_delivery",
        ]
        for table in tables:
            self.conn.execute(
                sql.SQL(
                    "SELECT setval(pg_get_serial_sequence({name}, 'id'), "
                    "COALESCE((SELECT max(id) FROM {table}), 0) + 1, false)"
                ).format(name=sql.Literal(table), table=sql.Identifier(table))
            )
        return {}


def fill(
    conn: psycopg.Connection, scale: Scale, *, log: Callable[[str], None] = print
) -> FillReport:
    """Fill a migrated, empty database. `conn` must be in autocommit mode."""
    report = FillReport()
    timer = _Timer(report, log)
    now = datetime.now(UTC).replace(microsecond=0)
    gen = _Generator(conn, scale, now)
    timer.step("staff users", gen.staff)
    timer.step("members, cards, reward accounts", gen.members)
    timer.step("reward events + ledger entries", gen.events)
    timer.step("adjustments, approvals, audit", gen.adjustments)
    timer.step("balance snapshots", gen.snapshots)
    timer.step("webhook deliveries", gen.deliveries)
    timer.step("reconciliation", gen.reconciliation)
    timer.step("balance columns", gen.balances)
    timer.step("sequences", gen.sequences)

    def vacuum() -> dict[str, int]:
        # What autovacuum does to a table that has been written: statistics for the planner,
        # the visibility map for index-only scans.
        conn.execute("VACUUM (ANALYZE)")
        return {}

    timer.step("VACUUM (ANALYZE)", vacuum)
    return report

