"""Card traffic for the soak run: a plan of the wanted size, and senders that retry like Pomelo.

Imports no Django: only the signed sender, the traffic planner and requests.
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import requests

from bench.lib.cli import percentile
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


def deliver(
    *,
    name: str,
    notifications: Sequence[Notification],
    base_url: str,
    api_key: str,
    secret_b64: str,
    senders: int,
    progress: Progress,
    stop: threading.Event,
    time_limit: float,
    retry_rounds: int = 8,
    on_round_end: Callable[[int, int], None] | None = None,
) -> DeliveryStats:
    """Send every notification once from `senders` threads (each its own NotificationSender),
    then, as Pomelo would, send again every delivery that got a 5xx or no answer, in at most
    `retry_rounds` rounds with a growing pause. 4xx answers are final and never retried.
    """
    stats = DeliveryStats(name=name, planned=len(notifications))
    lock = threading.Lock()
    deadline = time.monotonic() + time_limit
    progress.begin(len(notifications))
    started = time.perf_counter()
    pending: list[Notification] = list(notifications)
    round_no = 0
    try:
        while pending and not stop.is_set():
            failed = _deliver_round(
                pending,
                round_no=round_no,
                base_url=base_url,
                api_key=api_key,
                secret_b64=secret_b64,
                senders=senders,
                stats=stats,
                lock=lock,
                progress=progress,
                stop=stop,
                deadline=deadline,
            )
            if round_no == 0:
                stats.first_pass_elapsed = time.perf_counter() - started
                progress.finished.set()
            if on_round_end is not None:
                on_round_end(round_no, len(failed))
            if not failed:
                pending = []
                break
            if round_no >= retry_rounds or time.monotonic() > deadline:
                pending = failed
                stats.timed_out = time.monotonic() > deadline
                break
            round_no += 1
            stats.retry_rounds = round_no
            stats.resent += len(failed)
            stop.wait(min(0.5 * 2**round_no, 8.0))  # Pomelo's retries back off too
            pending = failed
    finally:
        progress.finished.set()
    stats.unacknowledged = pending
    stats.elapsed = time.perf_counter() - started
    return stats


def _deliver_round(
    items: Sequence[Notification],
    *,
    round_no: int,
    base_url: str,
    api_key: str,
    secret_b64: str,
    senders: int,
    stats: DeliveryStats,
    lock: threading.Lock,
    progress: Progress,
    stop: threading.Event,
    deadline: float,
) -> list[Notification]:
    """One pass over `items`; returns the ones to send again (5xx or no answer)."""
    next_index = [0]
    failed: list[Notification] = []
    untried: list[Notification] = []

    def worker() -> None:
        sender = NotificationSender(
            base_url=base_url, api_key=api_key, secret_b64=secret_b64, timeout=REQUEST_TIMEOUT_SECONDS
        )
        latencies: list[float] = []
        try:
            while True:
                with lock:
                    index = next_index[0]
                    next_index[0] += 1
                if index >= len(items):
                    return
                item = items[index]
                if stop.is_set() or time.monotonic() > deadline:
                    with lock:
                        untried.append(item)
                    continue
                kind, payload = item
                key = payload["idempotency_key"]
                t0 = time.perf_counter()
                try:
                    response = sender.send(kind, payload)
                    body = _json_or_none(response)
                except requests.RequestException as exc:
                    with lock:
                        stats.requests += 1
                        stats.transport_errors[type(exc).__name__] += 1
                        failed.append(item)
                    if round_no == 0:
                        progress.advance()
                    continue
                latencies.append(time.perf_counter() - t0)
                status = response.status_code
                outcome = str(body.get("status")) if isinstance(body, dict) else "(not JSON)"
                if status < 300 and isinstance(body, dict) and body.get("review"):
                    outcome = "processed (review)"
                with lock:
                    stats.requests += 1
                    stats.responses += 1
                    if round_no == 0:
                        stats.first_pass_responses += 1
                    stats.statuses[status] += 1
                    stats.outcomes[outcome] += 1
                    if 200 <= status < 300:
                        delivery_id = body.get("delivery_id") if isinstance(body, dict) else None
                        stats.acks.append(Ack(kind, key, delivery_id, outcome))
                    elif status >= 500:
                        failed.append(item)
                    else:
                        stats.rejected.append((kind, key, status, response.text[:300]))
                if round_no == 0:
                    progress.advance()
        finally:
            sender.close()
            with lock:
                stats.latencies += latencies

    threads = [
        threading.Thread(target=worker, name=f"sender-{i}", daemon=True) for i in range(max(1, senders))
    ]
    for thread in threads:
        thread.start()
    join_deadline = deadline + REQUEST_TIMEOUT_SECONDS + 10
    for thread in threads:
        thread.join(timeout=max(0.0, join_deadline - time.monotonic()))
    if any(thread.is_alive() for thread in threads):
        stats.timed_out = True
    with lock:
        return failed + untried


def _json_or_none(response: requests.Response):
    try:
        return response.json()
    except ValueError:
        return None
