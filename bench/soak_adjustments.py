"""Manual adjustments during the soak: requested and approved through the services, in-process.

Import only after django.setup(): the bench process is configured like the app (same database,
TASKS_BACKEND=django_tasks_db.DatabaseBackend), so an approval queues the Pomelo call in
PostgreSQL and the db_worker processes run it against the flaky stand-in.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import connections

from accounts.models import Member, RewardAccount
from kernel.roles import ROLES
from rewards.models import Adjustment, AuditEntry
from rewards.services.adjustments import (
    AdjustmentError,
    Decision,
    adjustment_approve,
    adjustment_decide,
    adjustment_request,
    adjustment_resume_overdue,
)

State = Adjustment.State
CENT = Decimal("0.01")
# Open, and moving without a person: an adjustment of unknown outcome waits for an approver.
IN_FLIGHT_STATES = (State.PENDING_APPROVAL, State.APPROVED, State.SUBMITTING)
CREDIT_RANGE = {"points": (10, 2000), "cashback": (1, 300), "miles": (10, 3000)}
POLL_SECONDS = 0.5


@dataclass
class Staff:
    maker: User
    approver: User
    second_approver: User


def staff_create(*, suffix: str) -> Staff:
    """A support agent and two approvers, in the groups the roles migration created."""
    for role in ("Support agent", "Approver"):
        if role not in ROLES or not Group.objects.filter(name=role).exists():
            raise RuntimeError(f"group {role!r} is missing: the roles migration did not run")

    def user(name: str, role: str) -> User:
        person = User.objects.create_user(username=f"soak-{name}-{suffix}", password=None, is_staff=True)
        person.groups.add(Group.objects.get(name=role))
        return User.objects.get(pk=person.pk)  # fresh: no stale permission cache

    return Staff(user("agent", "Support agent"), user("approver", "Approver"), user("approver2", "Approver"))


@dataclass(frozen=True)
class Requested:
    adjustment_id: int
    idempotency_key: str
    user_id: str
    account_type: str
    direction: str
    amount: Decimal
    approvals_required: int
    override: bool
    double_click: bool


@dataclass
class AdjustmentRun:
    planned: int
    requested: list[Requested] = field(default_factory=list)
    skipped: Counter = field(default_factory=Counter)  # why an adjustment could not be made
    errors: list[str] = field(default_factory=list)  # unexpected refusals and exceptions
    double_clicks: int = 0
    double_click_both_approved: list[int] = field(default_factory=list)  # must stay empty
    overrides: int = 0
    elapsed: float = 0.0


class AdjustmentDriver:
    """`count` adjustments paced over the traffic: adjustment i waits until the traffic's first
    pass has reached 5% + 85% × i/count, so requests and approvals overlap the deliveries."""

    def __init__(
        self, *, count: int, threads: int, seed: int, staff: Staff,
        pomelo_effects: dict[tuple[str, str], Decimal], progress: Callable[[], float],
        traffic_done: threading.Event, stop: threading.Event, time_limit: float,
    ) -> None:
        self.count = count
        self.threads = threads
        self.rng = random.Random(f"soak-adjustments-{seed}")
        self.staff = staff
        self.pomelo_effects = pomelo_effects
        self.progress = progress
        self.traffic_done = traffic_done
        self.stop = stop
        self.deadline = time.monotonic() + time_limit
        self.run = AdjustmentRun(planned=count)
        self._lock = threading.Lock()
        self._next = 0
        self._used: set[tuple[int, str]] = set()  # (member pk, account type): one open request each
        self._thread: threading.Thread | None = None

    # --- lifecycle --------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="adjustments", daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> bool:
        if self._thread is not None:
            self._thread.join(timeout=timeout)
            return not self._thread.is_alive()
        return True

    def _run(self) -> None:
        started = time.perf_counter()
        workers = [
            threading.Thread(target=self._worker, name=f"adjustments-{i}", daemon=True)
            for i in range(self.threads)
        ]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(timeout=max(0.0, self.deadline - time.monotonic()) + 60)
        self.run.elapsed = time.perf_counter() - started

    def _worker(self) -> None:
        try:
            while not self.stop.is_set() and time.monotonic() < self.deadline:
                with self._lock:
                    index = self._next
                    self._next += 1
                    # Decided under the lock: the stream of choices does not depend on timing.
                    want_debit = self.rng.random() < 0.3
                    roll = self.rng.random()
                    amount_roll = self.rng.random()
                if index >= self.count:
                    return
                self._pace(index)
                try:
                    self._one(index, want_debit=want_debit, roll=roll, amount_roll=amount_roll)
                except Exception as exc:
                    with self._lock:
                        self.run.errors.append(f"adjustment {index}: {type(exc).__name__}: {exc}")
        finally:
            connections.close_all()

    def _pace(self, index: int) -> None:
        threshold = 0.05 + 0.85 * index / max(1, self.count)
        while (
            self.progress() < threshold
            and not self.traffic_done.is_set()
            and not self.stop.is_set()
            and time.monotonic() < self.deadline
        ):
            time.sleep(0.05)

    # --- one adjustment ---------------------------------------------------------------------

    def _pick(self, *, debit: bool) -> tuple[RewardAccount, Decimal] | None:
        """A reward account no other adjustment of this run has touched; for a debit, one
        whose balance here and at Pomelo both cover it."""
        accounts = RewardAccount.objects.select_related("member")
        if debit:
            accounts = accounts.filter(available_balance__gte=1)
        for account in accounts.order_by("?")[:60]:
            pair = (account.member_id, account.account_type)
            with self._lock:
                if pair in self._used:
                    continue
                if debit:
                    theirs = self.pomelo_effects.get((account.member.pomelo_user_id, account.account_type))
                    if not theirs or theirs < 1:
                        continue
                    room = min(account.available_balance, theirs)
                else:
                    room = Decimal(0)
                self._used.add(pair)
            return account, room
        return None

    def _one(self, index: int, *, want_debit: bool, roll: float, amount_roll: float) -> None:
        picked = self._pick(debit=True) if want_debit else None
        debit = picked is not None
        if picked is None:
            picked = self._pick(debit=False)
        if picked is None:
            with self._lock:
                self.run.skipped["no reward account free yet"] += 1
            return
        account, room = picked
        member: Member = account.member
        card = member.cards.order_by("pk").first()
        if card is None:
            with self._lock:
                self.run.skipped["member without a card"] += 1
            return
        account_type = account.account_type
        if debit:
            # At most 30% of what both ledgers hold: the burn can never exceed Pomelo's balance.
            amount = max(CENT, (room * Decimal(str(0.05 + 0.25 * amount_roll))).quantize(CENT))
        else:
            low, high = CREDIT_RANGE[account_type]
            amount = (Decimal(low) + Decimal(str(amount_roll)) * (high - low)).quantize(CENT)
            threshold = settings.ADJUSTMENT_SECOND_APPROVAL_ABOVE.get(account_type)
            if roll < 0.05 and threshold is not None:
                amount = (Decimal(threshold) * Decimal("1.2")).quantize(CENT)  # needs two approvers
        adjustment = adjustment_request(
            maker=self.staff.maker, member=member, card=card, account_type=account_type,
            direction=Adjustment.Direction.DEBIT if debit else Adjustment.Direction.CREDIT,
            amount=amount, reason_code=Adjustment.ReasonCode.GOODWILL if not debit
            else Adjustment.ReasonCode.CORRECTION,
            reason_text=f"soak adjustment {index}", ip_address="127.0.0.1",
        )
        double_click = not debit and adjustment.approvals_required == 1 and roll > 0.9
        override = False
        if double_click:
            self._approve_twice_at_once(adjustment.pk)
        else:
            override = self._approve(adjustment.pk, self.staff.approver)
            if adjustment.approvals_required == 2:
                override = self._approve(adjustment.pk, self.staff.second_approver) or override
        with self._lock:
            self.run.requested.append(Requested(
                adjustment_id=adjustment.pk, idempotency_key=adjustment.idempotency_key,
                user_id=member.pomelo_user_id, account_type=account_type, direction=adjustment.direction,
                amount=amount, approvals_required=adjustment.approvals_required, override=override,
                double_click=double_click,
            ))

    def _approve(self, adjustment_id: int, approver: User) -> bool:
        """Approve; returns True when the balance had to be overridden."""
        try:
            adjustment_approve(adjustment_id=adjustment_id, approver=approver,
                               comment="checked against the ticket", ip_address="127.0.0.1")
            return False
        except AdjustmentError as exc:
            if "exceeds the available" not in str(exc):
                raise
        # The ledger caught up with a reversal since the request; Pomelo's balance still covers
        # the debit (the amount was sized on both), so the approver overrides, as staff would.
        adjustment_approve(adjustment_id=adjustment_id, approver=approver, override_balance=True,
                           comment="Pomelo balance covers it", ip_address="127.0.0.1")
        with self._lock:
            self.run.overrides += 1
        return True

    def _approve_twice_at_once(self, adjustment_id: int) -> None:
        """Two approvers click Approve at the same moment: exactly one approval may count."""
        barrier = threading.Barrier(2)
        results: list[str] = []

        def click(approver: User) -> None:
            try:
                barrier.wait(timeout=10)
                adjustment_approve(adjustment_id=adjustment_id, approver=approver,
                                   comment="approved (concurrent click)", ip_address="127.0.0.1")
                results.append("approved")
            except AdjustmentError:
                results.append("refused")
            except Exception as exc:
                results.append(f"error {type(exc).__name__}: {exc}")
            finally:
                connections.close_all()

        clicks = [threading.Thread(target=click, args=(a,), daemon=True)
                  for a in (self.staff.approver, self.staff.second_approver)]
        for thread in clicks:
            thread.start()
        for thread in clicks:
            thread.join(timeout=60)
        with self._lock:
            self.run.double_clicks += 1
            if results.count("approved") != 1 or len(results) != 2:
                self.run.double_click_both_approved.append(adjustment_id)
                self.run.errors.append(f"double click on #{adjustment_id}: {sorted(results)}")


# --- after the traffic ----------------------------------------------------------------------


def adjustment_states(ids: list[int]) -> Counter:
    return Counter(Adjustment.objects.filter(pk__in=ids).values_list("state", flat=True))


def adjustments_settle(ids: list[int], *, timeout: float, stop: threading.Event) -> tuple[Counter, float]:
    """Wait (bounded) until none of `ids` is pending approval, approved or submitting."""
    started = time.monotonic()
    states = adjustment_states(ids)
    while time.monotonic() - started < timeout and not stop.is_set():
        states = adjustment_states(ids)
        if not any(states.get(s) for s in IN_FLIGHT_STATES):
            break
        stop.wait(POLL_SECONDS)
    return states, time.monotonic() - started


def failed_but_applied(ids: list[int], effects: dict[str, dict]) -> list[int]:
    """FAILED adjustments whose key Pomelo has in fact applied. FAILED means Pomelo refused it
    and nothing was applied, so this must stay empty: a lost answer leaves the adjustment
    submitting (resumed with the same key) or of unknown outcome, never failed."""
    failed = Adjustment.objects.filter(pk__in=ids, state=State.FAILED).values_list("pk", "idempotency_key")
    return [pk for pk, key in failed if effects.get(key, {}).get("count")]


@dataclass
class ResumeReport:
    rounds: int = 0
    resumed: list[int] = field(default_factory=list)  # one entry per adjustment the sweep handled
    outcome_unknown: list[int] = field(default_factory=list)  # left for an approver
    settle_seconds: float = 0.0


def adjustments_resume_overdue(
    ids: list[int], *, rounds: int, settle_timeout: float, stop: threading.Event
) -> ResumeReport:
    """Run the sweep (as a scheduler would) until no submission of `ids` is in flight or
    `rounds` are spent: overdue ones are sent again with their key inside the idempotency window,
    or left as outcome unknown for an approver past it. The db_workers' watchdogs do the same
    when each lease ends; the sweep only makes the bench wait less."""
    report = ResumeReport()
    for _ in range(rounds):
        in_flight = Adjustment.objects.filter(pk__in=ids, state__in=IN_FLIGHT_STATES).exists()
        if not in_flight or stop.is_set():
            break
        report.rounds += 1
        outcomes = adjustment_resume_overdue()
        report.resumed += [pk for pk in outcomes if pk in set(ids)]
        _, waited = adjustments_settle(ids, timeout=settle_timeout, stop=stop)
        report.settle_seconds += waited
    report.outcome_unknown = list(
        Adjustment.objects.filter(pk__in=ids, state=State.OUTCOME_UNKNOWN).values_list("pk", flat=True)
    )
    return report


def adjustments_decide_unknown(ids: list[int], *, effects: dict[str, dict], approver: User) -> Counter:
    """Act as the approver for every adjustment of `ids` whose outcome is unknown: what the
    stand-in applied under its key (what the balance check at Pomelo shows a person) decides
    "applied" or "not applied", through the approver's own service. Returns the decisions."""
    decisions: Counter = Counter()
    unknown = Adjustment.objects.filter(pk__in=ids, state=State.OUTCOME_UNKNOWN)
    for pk, key in unknown.order_by("pk").values_list("pk", "idempotency_key"):
        applied = bool(effects.get(key, {}).get("count"))
        decision = Decision.APPLIED if applied else Decision.NOT_APPLIED
        seen = "applied" if applied else "not applied"
        adjustment_decide(adjustment_id=pk, approver=approver, decision=decision,
                          comment=f"the balance at Pomelo shows the key {seen}")
        decisions[decision] += 1
    return decisions


def pomelo_exchange_figures(ids: list[int]) -> dict[str, int]:
    """From the audit trail: Pomelo calls made for these adjustments and HTTP attempts in them."""
    exchanges = AuditEntry.objects.filter(adjustment_id__in=ids, action=AuditEntry.Action.POMELO_EXCHANGE)
    attempts = 0
    transient = 0
    calls = 0
    for data in exchanges.values_list("data", flat=True):
        calls += 1
        if isinstance(data, dict):
            attempts += int(data.get("attempts") or 0)
            transient += bool(data.get("transient"))
    return {"submissions": calls, "http_attempts": attempts, "submissions_failed_transient": transient}
