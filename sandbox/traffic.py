"""Simulated card traffic, played the way Pomelo would.

For each transaction the stand-in Pomelo's balances change as Pomelo's would (a confirmed
reward credits the member; pending and cancelled ones do not), and the back office receives
the matching signed pending, confirmation and cancellation notifications over real HTTP.
"""

import random
import threading
import unicodedata
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import requests

from sandbox.notification_sender import NotificationSender

FIRST_NAMES = ["Ana", "Bruno", "Camila", "Diego", "Elena", "Facundo", "Gabriela", "Hernán",
               "Isabel", "Joaquín", "Lucía", "Mateo", "Natalia", "Pablo", "Renata", "Santiago",
               "Valentina", "Tomás", "Julieta", "Martín"]
LAST_NAMES = ["García", "Rodríguez", "González", "Fernández", "López", "Martínez", "Pérez",
              "Gómez", "Sánchez", "Romero", "Díaz", "Álvarez", "Torres", "Ruiz", "Flores"]
ACCOUNT_WEIGHTS = {"points": 6, "cashback": 3, "miles": 1}


@dataclass(frozen=True)
class SimulatedMember:
    user_id: str
    name: str
    email: str
    cards: tuple[tuple[str, str], ...]  # (card id, last four)


@dataclass
class TrafficPlan:
    members: list[SimulatedMember]
    notifications: list[tuple[str, dict]]
    # What Pomelo credits: the confirmed, not cancelled rewards per (user, account type).
    pomelo_effects: dict[tuple[str, str], Decimal]


@dataclass
class TrafficReport:
    sent: int = 0
    statuses: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)


def _ascii(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def traffic_members(*, count: int, seed: int) -> list[SimulatedMember]:
    rng = random.Random(f"members-{seed}")
    members = []
    for i in range(count):
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        cards = tuple(
            (f"crd-{seed:x}{i:05d}{c}", f"{rng.randint(0, 9999):04d}")
            for c in range(rng.choice([1, 1, 1, 2]))
        )
        members.append(SimulatedMember(
            user_id=f"usr-{seed:x}{i:05d}", name=f"{first} {last}",
            email=_ascii(f"{first}.{last}.{i}@example.com".lower()),
            cards=cards,
        ))
    return members


def traffic_plan(
    *, members: list[SimulatedMember], transactions: int, seed: int,
    duplicates: float = 0.0, shuffle: bool = False,
) -> TrafficPlan:
    """The notifications for `transactions` card transactions, in lifecycle order unless
    `shuffle`; `duplicates` is the share of notifications delivered a second time."""
    rng = random.Random(f"traffic-{seed}")
    types, weights = list(ACCOUNT_WEIGHTS), list(ACCOUNT_WEIGHTS.values())
    start = datetime(2026, 11, 1, tzinfo=UTC)
    notifications: list[tuple[str, dict]] = []
    effects: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for i in range(transactions):
        member = rng.choice(members)
        card_id, last_four = rng.choice(member.cards)
        account_type = rng.choices(types, weights)[0]
        scale = {"points": 2000, "cashback": 800, "miles": 3000}[account_type]
        amount = Decimal(rng.randint(50, scale * 100)) / 100
        tx = f"ctx-{seed:x}-{i:06d}"
        at = start + timedelta(minutes=7 * i)
        fate = rng.choices(["confirmed", "pending", "cancelled", "reversed"], [70, 15, 8, 7])[0]
        kinds = {"confirmed": ["pending", "confirmation"], "pending": ["pending"],
                 "cancelled": ["pending", "cancellation"],
                 "reversed": ["pending", "confirmation", "cancellation"]}[fate]
        for step, kind in enumerate(kinds):
            notifications.append((kind, {
                "event_id": f"loyalty-{kind}",
                "idempotency_key": f"{tx}-{account_type}-{kind}",
                "user_id": member.user_id,
                "card_id": card_id,
                "card_last_four": last_four,
                "transaction_id": tx,
                "account_type": account_type,
                "amount": str(amount),
                "created_at": (at + timedelta(hours=30 * step)).isoformat(),
            }))
        if fate == "confirmed":
            effects[(member.user_id, account_type)] += amount
    copies = [rng.choice(notifications) for _ in range(int(len(notifications) * duplicates))]
    notifications += copies
    if shuffle:
        rng.shuffle(notifications)
    return TrafficPlan(members=members, notifications=notifications, pomelo_effects=dict(effects))


def _pomelo_control(pomelo_url: str, path: str, payload: dict) -> None:
    response = requests.post(f"{pomelo_url}/_sandbox/{path}", json=payload, timeout=10)
    response.raise_for_status()


def traffic_play(
    *, plan: TrafficPlan, backoffice_url: str, pomelo_url: str, api_key: str, secret_b64: str,
    concurrency: int = 4,
) -> TrafficReport:
    """Register the members at the stand-in, apply Pomelo's side of the plan, and deliver its
    notifications to the back office from `concurrency` connections."""
    for member in plan.members:
        _pomelo_control(pomelo_url, "members",
                        {"user_id": member.user_id, "card_ids": [c for c, _ in member.cards]})
    for (user_id, account_type), amount in plan.pomelo_effects.items():
        _pomelo_control(pomelo_url, "rewards",
                        {"user_id": user_id, "account_type": account_type, "amount": str(amount)})

    report, lock = TrafficReport(), threading.Lock()

    def deliver(chunk: list[tuple[str, dict]]) -> None:
        sender = NotificationSender(base_url=backoffice_url, api_key=api_key, secret_b64=secret_b64)
        try:
            for kind, payload in chunk:
                try:
                    response = sender.send(kind, payload)
                    status = response.status_code
                    outcome = response.json().get("status", "?") if status < 500 else "error"
                except requests.RequestException as exc:
                    status, outcome = 0, "error"
                    with lock:
                        report.errors.append(f"{kind} {payload['idempotency_key']}: {exc}")
                with lock:
                    report.sent += 1
                    report.statuses[status] += 1
                    report.outcomes[outcome] += 1
        finally:
            sender.close()

    chunks = [plan.notifications[i::concurrency] for i in range(concurrency)]
    with ThreadPoolExecutor(max_workers=concurrency) as pool:
        list(pool.map(deliver, chunks))
    return report
