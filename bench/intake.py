"""Webhook intake against a bare Django view doing one INSERT, same server, client and run.

    .venv/bin/python -m bench.intake [--notifications 5000] [--senders 16] [--conn-max-age 0,60]

For each DATABASE_CONN_MAX_AGE given (0: a new connection per request; 60: reuse), serves the app
with gunicorn (4 sync workers) on a free port, then sends a seeded, shuffled mix of signed
pending / confirmation / cancellation notifications (some exact duplicates, some arriving before
their pending) from keep-alive sender threads, alternating in rounds with as many requests to
the one-INSERT view. Prints throughput, p50/p99 and CPU per request for both, their ratio, and
checks that every balance and reward equals what the notifications must produce (bench.lib.oracle)
and that `check_ledger` is clean.
"""

import argparse
import json
import os
import random
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import requests

from bench.lib import cli
from bench.lib.cpu import CpuUse, cpu_sample
from bench.lib.oracle import outcome_differences, outcome_expected
from bench.lib.pg import database_connect
from bench.lib.processes import (
    ACCOUNT_TYPES,
    API_KEY,
    API_SECRET,
    HOST,
    app_env,
    database_migrated,
    free_port,
    gunicorn,
    manage,
    manage_ok,
)
from sandbox.notification_sender import NotificationSender

TIMEOUT = 30.0
WARMUP_PREFIX = "warmup-"
BASELINE_PATH = "/bench/baseline"  # bench.lib.urls
BASELINE_TABLE_SQL = (
    "CREATE TABLE IF NOT EXISTS bench_baseline ("
    "id bigserial PRIMARY KEY, body text NOT NULL, received_at timestamptz NOT NULL DEFAULT now())"
)
Notice = tuple[str, dict]  # (kind, body)


def workload(*, count: int, members: int, duplicate_share: float,
             seed: int) -> tuple[list[Notice], list[Notice]]:
    """`count` sends: each transaction pending, then confirmed or cancelled (some both, some
    confirmed at another amount), plus exact duplicates, shuffled. (unique, sends)."""
    rng = random.Random(seed)
    n_unique = count - round(count * duplicate_share)
    unique: list[Notice] = []
    tx = 0
    while len(unique) < n_unique:
        member = tx % members
        card = rng.randrange(2)
        base = {"user_id": f"usr-{seed}-{member:05d}", "card_id": f"crd-{seed}-{member:05d}-{card}",
                "transaction_id": f"ctx-{seed}-{tx:07d}", "account_type": rng.choice(ACCOUNT_TYPES)}
        if rng.random() < 0.7:
            base["card_last_four"] = f"{(member * 31 + card * 7) % 10_000:04d}"
        pending = Decimal(rng.randint(100, 500_000)) / 100
        confirmed = pending
        if rng.random() < 0.2:
            confirmed = max(Decimal("0.01"), round(pending * Decimal(rng.uniform(0.5, 1.1)), 2))
        roll = rng.random()  # 70% confirmed, 15% cancelled, 15% confirmed then cancelled
        kinds = ["pending", "confirmation"] if roll < 0.7 else ["pending", "cancellation"]
        if roll >= 0.85:
            kinds = ["pending", "confirmation", "cancellation"]
        for kind in kinds[: n_unique - len(unique)]:
            key = str(uuid.UUID(int=rng.getrandbits(128)))
            amount = confirmed if kind == "confirmation" else pending
            body = {"event_id": key, "idempotency_key": key, **base, "amount": f"{amount:.2f}"}
            unique.append((kind, body))
        tx += 1
    sends = unique + [rng.choice(unique) for _ in range(count - n_unique)]
    rng.shuffle(sends)
    return unique, sends


def early(sends: Sequence[Notice]) -> int:
    """Confirmations and cancellations sent before their reward's pending."""
    first: dict[tuple[str, str], int] = {}
    for index, (kind, body) in enumerate(sends):
        first.setdefault((body["transaction_id"], kind), index)
    return sum(1 for (tx, kind), i in first.items()
               if kind != "pending" and i < first.get((tx, "pending"), -1))


@dataclass
class Phase:
    name: str
    planned: int = 0
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)  # HTTP status
    answers: Counter = field(default_factory=Counter)  # the JSON "status" answered
    errors: Counter = field(default_factory=Counter)  # transport failures
    cpu: CpuUse = field(default_factory=CpuUse)

    def add(self, other: "Phase") -> None:
        self.planned += other.planned
        self.elapsed += other.elapsed
        self.latencies += other.latencies
        self.statuses.update(other.statuses)
        self.answers.update(other.answers)
        self.errors.update(other.errors)
        self.cpu += other.cpu

    @property
    def throughput(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def p(self, q: float) -> float:
        return cli.percentile(self.latencies, q) * 1000

    @property
    def clean(self) -> bool:
        return (not self.errors and len(self.latencies) == self.planned
                and not any(code >= 500 for code in self.statuses))

    def print(self) -> None:
        print(f"  {self.name}")
        print(f"    requests        {len(self.latencies)} of {self.planned} in {self.elapsed:.2f} s")
        print(f"    throughput      {self.throughput:8.1f} req/s")
        print(f"    latency p50/p99 {self.p(50):8.1f} / {self.p(99):.1f} ms")
        print(f"    HTTP status     {dict(sorted(self.statuses.items()))}; "
              f"answered {dict(sorted(self.answers.items()))}")
        print(f"    CPU per request {self.cpu.per_request(len(self.latencies))}")
        if self.errors:
            print(f"    transport errors {dict(self.errors)}")


def phase_run(name: str, items: Sequence, *, senders: int, client_new: Callable, send: Callable,
              server_pid: int, database: str) -> Phase:
    """Send every item once from `senders` threads, each with its own keep-alive connection."""
    phase = Phase(name, planned=len(items))
    lock, ready, queue = threading.Lock(), threading.Barrier(senders + 1), iter(items)

    def sender() -> None:
        client, mine = client_new(), Phase(name)
        ready.wait(timeout=60)
        try:
            while True:
                with lock:
                    item = next(queue, None)
                if item is None:
                    break
                started = time.perf_counter()
                try:
                    response = send(client, item)
                except requests.RequestException as exc:
                    mine.errors[type(exc).__name__] += 1
                    continue
                mine.latencies.append(time.perf_counter() - started)
                mine.statuses[response.status_code] += 1
                try:
                    mine.answers[str(response.json().get("status"))] += 1
                except (ValueError, AttributeError):
                    mine.answers["(not JSON)"] += 1
        finally:
            client.close()
            with lock:
                phase.latencies += mine.latencies
                phase.statuses.update(mine.statuses)
                phase.answers.update(mine.answers)
                phase.errors.update(mine.errors)

    threads = [threading.Thread(target=sender, daemon=True) for _ in range(senders)]
    for thread in threads:
        thread.start()
    before = cpu_sample(server_pid, database)
    ready.wait(timeout=60)
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    phase.elapsed = time.perf_counter() - started
    phase.cpu = cpu_sample(server_pid, database) - before
    return phase


def server_measure(args, *, conn_max_age: int, sends: list[Notice], log_dir: Path) -> tuple[Phase, Phase]:
    """One gunicorn with this connection setting: warm up, then rounds alternating the endpoints,
    so load from elsewhere on the machine hits both alike."""
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    env = app_env(args.database, DATABASE_CONN_MAX_AGE=str(conn_max_age))
    server = gunicorn(env, port=port, workers=args.workers, log_dir=log_dir, app=args.app).start()
    try:
        server.wait_http(base_url + BASELINE_PATH)

        def hooks(name: str, notices: Sequence[Notice]) -> Phase:
            return phase_run(
                name, notices, senders=args.senders, server_pid=server.pid, database=args.database,
                client_new=lambda: NotificationSender(base_url=base_url, api_key=API_KEY,
                                                      secret_b64=API_SECRET, timeout=TIMEOUT),
                send=lambda sender, notice: sender.send(*notice),  # signs just before sending
            )

        def baseline(name: str, bodies: Sequence[bytes]) -> Phase:
            return phase_run(
                name, bodies, senders=args.senders, server_pid=server.pid, database=args.database,
                client_new=requests.Session,
                send=lambda session, body: session.post(base_url + BASELINE_PATH, data=body, timeout=TIMEOUT,
                                                        headers={"content-type": "application/json"}),
            )

        # Signed notices without a transaction: the whole intake path runs, no money moves.
        warm = [("pending", {"event_id": f"{WARMUP_PREFIX}{conn_max_age}-{i}", "user_id": "usr-warmup",
                             "idempotency_key": f"{WARMUP_PREFIX}{conn_max_age}-{i}",
                             "account_type": "points", "amount": "1.00"}) for i in range(args.warmup)]
        for phase in (hooks("warm-up", warm), baseline("warm-up", [b"{}"] * args.warmup)):
            if not phase.clean:
                raise RuntimeError(f"warm-up failed: {dict(phase.statuses)} {dict(phase.errors)}\n"
                                   f"{server.log_tail()}")
        intake = Phase("webhook intake (POST /webhooks/pomelo/loyalty/*)")
        base = Phase(f"baseline (POST {BASELINE_PATH}, one INSERT)")
        for r in range(args.rounds):
            part = sends[r * len(sends) // args.rounds: (r + 1) * len(sends) // args.rounds]
            intake.add(hooks("intake", part))
            base.add(baseline("baseline", [json.dumps(body).encode() for _, body in part]))
        tracebacks = server.log_text().count("Traceback")
        if tracebacks:
            print(f"  {tracebacks} traceback(s) in {server.log_path}")
        return intake, base
    finally:
        server.stop()


def ledger_differences(database: str, unique: list[Notice], settle: float) -> list[str]:
    """Balances and rewards against the oracle; waits up to `settle` seconds for an intake that
    applies notifications after acknowledging them."""
    expected = outcome_expected(unique)
    deadline = time.monotonic() + settle
    while True:
        with database_connect(database) as conn:
            balances = {(u, t): (p, a) for u, t, p, a in conn.execute(
                "SELECT m.pomelo_user_id, a.account_type, a.pending_balance, a.available_balance "
                "FROM accounts_rewardaccount a JOIN accounts_member m ON m.id = a.member_id "
                "WHERE m.pomelo_user_id <> 'usr-warmup'")}
            rewards = {(tx, t): (s, a) for tx, t, s, a in conn.execute(
                "SELECT transaction_id, account_type, state, amount FROM rewards_rewardevent")}
        problems = outcome_differences(expected, balances=balances, rewards=rewards)
        if not problems or time.monotonic() > deadline:
            return problems
        time.sleep(0.5)


def stored_keys(database: str) -> int:
    with database_connect(database) as conn:
        return conn.execute("SELECT count(DISTINCT idempotency_key) FROM webhooks_delivery "
                            "WHERE idempotency_key NOT LIKE %s", [WARMUP_PREFIX + "%"]).fetchone()[0]


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = cli.parser_create(__doc__, database="loyalty_bench")
    add = parser.add_argument
    add("--notifications", type=int, default=5000, help="webhook requests per setting, as many baseline")
    add("--senders", type=int, default=16, help="keep-alive client connections (threads)")
    add("--workers", type=int, default=4, help="gunicorn sync workers")
    add("--conn-max-age", default="0,60", help="DATABASE_CONN_MAX_AGE values, one server each")
    add("--members", type=int, default=500)
    add("--duplicates", type=float, default=0.2, help="share of sends that are exact copies")
    add("--rounds", type=int, default=3, help="alternate intake and baseline batches this many times")
    add("--warmup", type=int, default=64, help="requests per endpoint before measuring")
    add("--settle", type=float, default=60.0, help="seconds to wait for the ledger to match")
    add("--target-ratio", type=float, default=0.8, help="intake / baseline throughput")
    add("--target-p99-ms", type=float, default=50.0)
    add("--app", default="loyalty_backoffice.wsgi:application", help="WSGI application (module:callable)")
    return cli.arguments_parse(parser, argv, lambda a: [
        (1 <= a.notifications <= 1_000_000, "--notifications must be 1..1000000"),
        (1 <= a.senders <= 256, "--senders must be 1..256"),
        (1 <= a.workers <= 64, "--workers must be 1..64"),
        (all(v.strip().isdigit() for v in a.conn_max_age.split(",")), "--conn-max-age: integers, a,b"),
        (1 <= a.members <= 1_000_000, "--members must be 1..1000000"),
        (0 <= a.duplicates < 1, "--duplicates must be in [0, 1)"),
        (1 <= a.rounds <= min(100, a.notifications), "--rounds must be 1..100 and <= --notifications"),
        (0 <= a.warmup <= 10_000, "--warmup must be 0..10000"),
    ])


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    load_before = os.getloadavg()[0]
    ages = [int(v) for v in args.conn_max_age.split(",")]
    env = app_env(args.database)
    database_migrated(args.database, env)
    with database_connect(args.database) as conn:
        conn.execute(BASELINE_TABLE_SQL)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-intake-"))
    results, all_unique, duplicates = {}, [], 0
    for index, age in enumerate(ages):
        # Each setting sends its own notifications (their ids carry the seed): none is a
        # duplicate of the previous setting's.
        unique, sends = workload(count=args.notifications, members=args.members,
                                 duplicate_share=args.duplicates, seed=args.seed + index)
        all_unique += unique
        duplicates += len(sends) - len(unique)
        print(f"DATABASE_CONN_MAX_AGE={age}: {len(unique)} unique + {len(sends) - len(unique)} duplicates, "
              f"{early(sends)} before their pending; {args.rounds} rounds from {args.senders} senders")
        results[age] = server_measure(args, conn_max_age=age, sends=sends, log_dir=log_dir)
    # The intake only stores; the inbox worker applies. Drain it and time the batch apply.
    started = time.perf_counter()
    manage_ok(env, "inbox_worker", "--until-empty")
    drain_seconds = time.perf_counter() - started
    problems = ledger_differences(args.database, all_unique, args.settle)
    ledger = manage(env, "check_ledger")
    stored = stored_keys(args.database)

    cli.header_print("bench.intake", args, load_before)
    print(f"server:      gunicorn {args.workers} sync workers, {args.senders} keep-alive senders, "
          f"database {args.database}")
    checks = {}
    for age, (intake, base) in results.items():
        print(f"DATABASE_CONN_MAX_AGE={age}")
        intake.print()
        base.print()
        ratio = cli.ratio(intake.throughput, base.throughput)
        print(f"  ratio intake/baseline {ratio:.3f}; p99 {intake.p(99):.1f} ms vs {base.p(99):.1f} ms")
        checks[f"max age {age}: ratio >= {args.target_ratio}"] = ratio >= args.target_ratio
        checks[f"max age {age}: intake p99 < {args.target_p99_ms:g} ms"] = intake.p(99) < args.target_p99_ms
        checks[f"max age {age}: every request answered, no 5xx"] = intake.clean and base.clean
    answered_duplicates = sum(intake.answers["duplicate"] for intake, _ in results.values())
    print("-" * 86)
    answer = (ledger.stdout + ledger.stderr).strip()[-200:]
    print(f"  inbox drained           {len(all_unique)} deliveries applied in {drain_seconds:.1f} s "
          f"({len(all_unique) / max(drain_seconds, 1e-9):,.0f}/s, one inbox worker, process start included)")
    print(f"  check_ledger            exit {ledger.returncode}: {answer}")
    print(f"  stored notifications    {stored} (sent {len(all_unique)} unique); answered duplicate "
          f"{answered_duplicates} (sent {duplicates})")
    print(f"  ledger vs expectation   {len(problems)} difference(s)")
    print("".join(f"    {p}\n" for p in problems[:10]), end="")
    checks["check_ledger clean"] = ledger.returncode == 0
    checks["every notification stored once, duplicates answered as such"] = (
        stored == len(all_unique) and answered_duplicates == duplicates)
    checks["balances and rewards equal the expectation"] = not problems
    return cli.checks_print(checks)


if __name__ == "__main__":
    cli.suite_run(main)
