"""Card traffic for the soak run: a plan of the wanted size, and senders that retry like Pomelo.

Imports no Django: only the signed sender, the traffic planner and requests.
"""

import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

import requests

from bench.lib.cli import percentile
from bench.lib.processes import API_KEY, API_SECRET
from sandbox.notification_sender import NotificationSender
from sandbox.traffic import SimulatedMember, TrafficPlan, traffic_plan

REQUEST_TIMEOUT_SECONDS = 30.0
CONTROL_TIMEOUT_SECONDS = 10.0

Notification = tuple[str, dict]


def plan_sized(
    *, members: list[SimulatedMember], notifications: int, seed: int, duplicates: float
) -> TrafficPlan:
    """The shuffled plan with the fewest transactions that yields at least `notifications`.

    traffic_plan draws each transaction from one seeded stream, so the first n transactions
    are the same for every n and the size grows with n: a bisection finds n.
    """

    def size(n: int) -> int:
        return len(
            traffic_plan(members=members, transactions=n, seed=seed, duplicates=duplicates).notifications
        )

    low, high = 1, max(1, notifications)
    while low < high:
        middle = (low + high) // 2
        if size(middle) >= notifications:
            high = middle
        else:
            low = middle + 1
    return traffic_plan(members=members, transactions=low, seed=seed, duplicates=duplicates, shuffle=True)


def unique_notifications(plan: TrafficPlan) -> dict[tuple[str, str], dict]:
    """(kind, idempotency_key) -> payload, once per notification however often it is sent."""
    return {(kind, payload["idempotency_key"]): payload for kind, payload in plan.notifications}


# --- the stand-in's control endpoints --------------------------------------------------------


def pomelo_control(session: requests.Session, pomelo_url: str, path: str, payload: dict) -> None:
    response = session.post(f"{pomelo_url}/_sandbox/{path}", json=payload, timeout=CONTROL_TIMEOUT_SECONDS)
    response.raise_for_status()


def pomelo_members_register(pomelo_url: str, members: Sequence[SimulatedMember]) -> None:
    with requests.Session() as session:
        for member in members:
            pomelo_control(
                session,
                pomelo_url,
                "members",
                {"user_id": member.user_id, "card_ids": [card for card, _ in member.cards]},
            )


def pomelo_effects_apply(pomelo_url: str, plan: TrafficPlan) -> None:
    """Pomelo's side of the card traffic: confirmed rewards credit the member."""
    with requests.Session() as session:
        for (user_id, account_type), amount in sorted(plan.pomelo_effects.items()):
            pomelo_control(
                session,
                pomelo_url,
                "rewards",
                {"user_id": user_id, "account_type": account_type, "amount": str(amount)},
            )


def pomelo_get(pomelo_url: str, path: str) -> dict:
    response = requests.get(f"{pomelo_url}/_sandbox/{path}", timeout=60)
    response.raise_for_status()
    return response.json()["data"]


# --- delivery --------------------------------------------------------------------------------


class Progress:
    """How far the first pass of a delivery phase has come; read by the other actors."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.planned = 0
        self.done = 0
        self.finished = threading.Event()

    def begin(self, planned: int) -> None:
        with self._lock:
            self.planned, self.done = planned, 0
        self.finished.clear()

    def advance(self) -> None:
        with self._lock:
            self.done += 1

    @property
    def fraction(self) -> float:
        with self._lock:
            # Nothing planned yet: the phase has not begun.
            return self.done / self.planned if self.planned else 0.0


@dataclass(frozen=True)
class Ack:
    kind: str
    key: str
    delivery_id: int | None
    status: str  # the JSON "status" of the 2xx answer


@dataclass
class DeliveryStats:
    name: str
    planned: int
    first_pass_elapsed: float = 0.0
    elapsed: float = 0.0
    requests: int = 0  # HTTP requests started (every retry included)
    responses: int = 0  # of those, answered with a status line
    first_pass_responses: int = 0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    transport_errors: Counter = field(default_factory=Counter)
    acks: list[Ack] = field(default_factory=list)
    rejected: list[tuple[str, str, int, str]] = field(default_factory=list)  # 4xx: not retried
    retry_rounds: int = 0
    resent: int = 0  # deliveries sent again after a 5xx or a lost answer
    unacknowledged: list[Notification] = field(default_factory=list)  # still, after every retry
    timed_out: bool = False

    @property
    def acked_keys(self) -> set[tuple[str, str]]:
        return {(ack.kind, ack.key) for ack in self.acks}

    @property
    def throughput(self) -> float:
        return self.first_pass_responses / self.first_pass_elapsed if self.first_pass_elapsed else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p)

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.statuses.items() if code >= 500)


def deliver(*, name: str, notifications: Sequence[Notification], base_url: str, senders: int,
            progress: Progress, stop: threading.Event, time_limit: float,
            retry_rounds: int = 8) -> DeliveryStats:
    """Send every notification once from `senders` threads (each its own NotificationSender),
    then, as Pomelo would, send again every delivery that got a 5xx or no answer, in at most
    `retry_rounds` rounds with a growing pause. 4xx answers are final and never retried.
    """
    stats = DeliveryStats(name=name, planned=len(notifications))
    lock = threading.Lock()
    deadline = time.monotonic() + time_limit
    progress.begin(len(notifications))
    started = time.perf_counter()

    def one_round(items: Sequence[Notification], first: bool) -> list[Notification]:
        """One pass over `items`; the ones to send again (5xx, no answer, or not tried in time)."""
        queue, again = iter(items), []

        def sender() -> None:
            client = NotificationSender(base_url=base_url, api_key=API_KEY, secret_b64=API_SECRET,
                                        timeout=REQUEST_TIMEOUT_SECONDS)
            try:
                while (item := _next(queue, lock)) is not None:
                    if stop.is_set() or time.monotonic() > deadline:
                        with lock:
                            again.append(item)
                        continue
                    _send(client, item, stats, lock, again, first)
                    if first:
                        progress.advance()
            finally:
                client.close()

        threads = [threading.Thread(target=sender, daemon=True) for _ in range(max(1, senders))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=max(0.0, deadline + REQUEST_TIMEOUT_SECONDS + 10 - time.monotonic()))
        stats.timed_out |= any(thread.is_alive() for thread in threads)
        with lock:
            return list(again)

    pending = list(notifications)
    try:
        for round_no in range(retry_rounds + 1):
            if not pending or stop.is_set():
                break
            if round_no:
                stats.retry_rounds, stats.resent = round_no, stats.resent + len(pending)
                stop.wait(min(0.5 * 2**round_no, 8.0))  # Pomelo's retries back off too
            pending = one_round(pending, first=round_no == 0)
            if round_no == 0:
                stats.first_pass_elapsed = time.perf_counter() - started
                progress.finished.set()
            if time.monotonic() > deadline:
                stats.timed_out = True
                break
    finally:
        progress.finished.set()
    stats.unacknowledged = pending
    stats.elapsed = time.perf_counter() - started
    return stats


def _next(queue, lock: threading.Lock):
    with lock:
        return next(queue, None)


def _send(client: NotificationSender, item: Notification, stats: DeliveryStats, lock: threading.Lock,
          again: list[Notification], first: bool) -> None:
    """Send one delivery and record its answer; a 5xx or no answer goes to `again`."""
    kind, payload = item
    started = time.perf_counter()
    try:
        response = client.send(kind, payload)
    except requests.RequestException as exc:
        with lock:
            stats.requests += 1
            stats.transport_errors[type(exc).__name__] += 1
            again.append(item)
        return
    elapsed = time.perf_counter() - started
    try:
        body = response.json()
    except ValueError:
        body = None
    body = body if isinstance(body, dict) else {}
    status = response.status_code
    outcome = str(body.get("status", "(not JSON)"))
    if status < 300 and body.get("review"):
        outcome = "processed (review)"
    with lock:
        stats.latencies.append(elapsed)
        stats.requests += 1
        stats.responses += 1
        stats.first_pass_responses += first
        stats.statuses[status] += 1
        stats.outcomes[outcome] += 1
        if 200 <= status < 300:
            stats.acks.append(Ack(kind, payload["idempotency_key"], body.get("delivery_id"), outcome))
        elif status >= 500:
            again.append(item)
        else:
            stats.rejected.append((kind, payload["idempotency_key"], status, response.text[:300]))
