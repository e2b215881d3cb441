"""Throughput of the signed Pomelo webhook intake, against a one-INSERT baseline.

Run from the project root:

    .venv/bin/python bench/webhooks.py [--notifications 5000] [--concurrency 16] [--workers N]

What it does, end to end, talking only to 127.0.0.1:
  1. drops and creates a PostgreSQL database (loyalty_bench), migrates it, and creates the
     baseline table;
  2. serves the app with gunicorn and bench.settings_bench (the app's URLs plus
     POST /bench/baseline, which only inserts one row);
  3. sends a seeded, shuffled mix of signed pending / confirmation / cancellation
     notifications, about 20% of them exact duplicates, from --concurrency threads;
  4. sends the same number of requests to the baseline from the same number of threads;
  5. prints throughput, p50/p99 latency, the ratio, status codes, runs `check_ledger`, and
     compares every balance and reward with what the generated notifications must produce.

Exits 0 when the target is met (ratio >= --target-ratio, no 5xx, ledger clean), 1 when it is
missed, 2 when the benchmark could not run. The database is left in place for inspection.
"""

from __future__ import annotations

import argparse
import base64
import json
import math
import os
import random
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import requests
from psycopg import sql

ROOT = Path(__file__).resolve().parent.parent
# `python bench/webhooks.py` puts bench/ first on sys.path, where this very file would shadow
# the app's `webhooks` package (imported by sandbox.notification_sender). Use the root instead.
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

from bench.common import (  # noqa: E402
    database_name_ok,
    limits_enforce,
    percentile,
    sigterm_as_interrupt,
)

HOST = "127.0.0.1"
PG_PORT = 5432
PG_USER = "postgres"
# A key pair made for this run: with DEBUG off the app refuses Pomelo's published test pair.
API_KEY = "bench-" + secrets.token_urlsafe(16)
API_SECRET = base64.b64encode(secrets.token_bytes(32)).decode()
ACCOUNT_TYPES = ("points", "cashback", "miles")
BASELINE_PATH = "/bench/baseline"
WARMUP_KEY_PREFIX = "warmup-"
REQUEST_TIMEOUT_SECONDS = 30.0
SERVER_START_TIMEOUT_SECONDS = 30.0
SUBPROCESS_TIMEOUT_SECONDS = 300.0
CENT = Decimal("0.01")

# Chosen by trying sync and gthread workers on a 2-core machine (see bench/README.md).
DEFAULT_WORKERS = 4
DEFAULT_WORKER_CLASS = "sync"
DEFAULT_THREADS = 1


# --- Notifications ------------------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    kind: str  # pending | confirmation | cancellation
    payload: dict[str, str]


@dataclass(frozen=True)
class Workload:
    unique: list[Notice]
    sends: list[Notice]  # unique + duplicates, shuffled

    @property
    def duplicates(self) -> int:
        return len(self.sends) - len(self.unique)


def _money(value: Decimal) -> str:
    return str(value.quantize(CENT))


def workload_generate(*, count: int, members: int, duplicate_share: float, seed: int) -> Workload:
    """`count` notifications: each transaction is pending, then confirmed or cancelled (some both).

    Deterministic for a seed. The last transaction can be cut short (pending only) so the
    total is exact; the expectation is computed from what is sent, so that stays correct.
    """
    rng = random.Random(seed)
    n_duplicates = round(count * duplicate_share)
    n_unique = count - n_duplicates

    def ident() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128)))

    unique: list[Notice] = []
    tx_no = 0
    while len(unique) < n_unique:  # every pass adds at least the pending notice
        member_no = tx_no % members
        card_no = rng.randrange(2)
        base = {
            "user_id": f"usr-{seed}-{member_no:05d}",
            "card_id": f"crd-{seed}-{member_no:05d}-{card_no}",
            "transaction_id": f"ctx-{seed}-{tx_no:07d}",
            "account_type": rng.choice(ACCOUNT_TYPES),
        }
        if rng.random() < 0.7:
            base["card_last_four"] = f"{(member_no * 31 + card_no * 7) % 10_000:04d}"
        pending_amount = Decimal(rng.randint(100, 500_000)) / 100
        confirmed_amount = pending_amount
        if rng.random() < 0.2:  # the confirmed amount differs from the pending one
            confirmed_amount = max(CENT, (pending_amount * Decimal(rng.uniform(0.5, 1.1))).quantize(CENT))
        roll = rng.random()
        kinds = ["pending"]
        if roll < 0.70:
            kinds.append("confirmation")
        elif roll < 0.85:
            kinds.append("cancellation")
        else:
            kinds += ["confirmation", "cancellation"]
        for kind in kinds:
            if len(unique) == n_unique:
                break
            amount = confirmed_amount if kind == "confirmation" else pending_amount
            payload = {"event_id": ident(), "idempotency_key": ident(), **base, "amount": _money(amount)}
            unique.append(Notice(kind, payload))
        tx_no += 1

    duplicates = [rng.choice(unique) for _ in range(n_duplicates)] if unique else []
    sends = unique + duplicates
    rng.shuffle(sends)
    return Workload(unique=unique, sends=sends)


def early_notices(sends: Sequence[Notice]) -> int:
    """How many confirmations and cancellations are sent before their reward's pending."""
    first: dict[tuple[str, str], int] = {}
    for index, notice in enumerate(sends):
        first.setdefault((notice.payload["transaction_id"], notice.kind), index)
    return sum(
        1
        for (tx, kind), index in first.items()
        if kind != "pending" and index < first.get((tx, "pending"), -1)
    )


@dataclass(frozen=True)
class Expected:
    # (user_id, account_type) -> (pending, available); accounts that must hold zero are included.
    balances: dict[tuple[str, str], tuple[Decimal, Decimal]]
    # (transaction_id, account_type) -> (state, amount or None when any amount is right)
    rewards: dict[tuple[str, str], tuple[str, Decimal | None]]


def expected_compute(unique: Sequence[Notice]) -> Expected:
    """Final ledger state, whatever the order the notifications arrived in.

    Per reward: cancelled if any cancellation was sent (a cancellation first leaves a
    tombstone that later notices cannot revive); otherwise confirmed, at the confirmation's
    amount, if any confirmation was sent; otherwise pending at the pending amount.
    """
    by_reward: dict[tuple[str, str], dict[str, Notice]] = {}
    for notice in unique:
        key = (notice.payload["transaction_id"], notice.payload["account_type"])
        by_reward.setdefault(key, {})[notice.kind] = notice

    balances: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    rewards: dict[tuple[str, str], tuple[str, Decimal | None]] = {}
    zero = Decimal("0.00")
    for key, notices in by_reward.items():
        any_notice = next(iter(notices.values()))
        account = (any_notice.payload["user_id"], key[1])
        pending, available = balances.get(account, (zero, zero))
        if "cancellation" in notices:
            # Tombstone (amount 0) or reversed reward (amount booked): either is right.
            rewards[key] = ("cancelled", None)
        elif "confirmation" in notices:
            amount = Decimal(notices["confirmation"].payload["amount"])
            rewards[key] = ("confirmed", amount)
            available += amount
        else:
            amount = Decimal(notices["pending"].payload["amount"])
            rewards[key] = ("pending", amount)
            pending += amount
        balances[account] = (pending, available)
    return Expected(balances=balances, rewards=rewards)


# --- PostgreSQL ---------------------------------------------------------------------------


def database_url(name: str) -> str:
    return f"postgres://{PG_USER}@{HOST}:{PG_PORT}/{name}"


def database_recreate(name: str) -> None:
    with psycopg.connect(host=HOST, port=PG_PORT, user=PG_USER, dbname="postgres", autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def database_connect(name: str) -> psycopg.Connection:
    return psycopg.connect(host=HOST, port=PG_PORT, user=PG_USER, dbname=name, autocommit=True)


# --- Server -------------------------------------------------------------------------------


def app_env(args: argparse.Namespace) -> dict[str, str]:
    env = os.environ.copy()
    env.update(
        {
            "DJANGO_SETTINGS_MODULE": "bench.settings_bench",
            "DATABASE_URL": database_url(args.database),
            "DATABASE_CONN_MAX_AGE": str(args.conn_max_age),
            "POMELO_WEBHOOK_KEYS": json.dumps({API_KEY: API_SECRET}),
            "POMELO_WEBHOOK_TOLERANCE_SECONDS": "300",
            "POMELO_WEBHOOK_ALLOWED_IPS": "",
            "POMELO_ACCOUNT_TYPES": ",".join(ACCOUNT_TYPES),
            "CLIENT_IP_TRUSTED_PROXY_COUNT": "0",
            "SECRET_KEY": "bench-" + secrets.token_urlsafe(48),
            "DEBUG": "False",
            # The stand-in Pomelo and plain HTTP on loopback, as in the tests.
            "SANDBOX_ENABLED": "true",
            "SECURE_SSL_REDIRECT": "false",
            "ALLOWED_HOSTS": HOST,
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    return env


def manage(env: dict[str, str], *command: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_SECONDS,
        check=False,
    )


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def gunicorn_command(args: argparse.Namespace, port: int) -> list[str]:
    return [
        sys.executable,
        "-m",
        "gunicorn",
        "--workers",
        str(args.workers),
        "--worker-class",
        args.worker_class,
        "--threads",
        str(args.threads),
        "--bind",
        f"{HOST}:{port}",
        "--backlog",
        "512",
        "--timeout",
        "60",
        "--keep-alive",
        "5",
        "--log-level",
        "warning",
        args.app,
    ]


class Server:
    """gunicorn in its own session, so Ctrl-C reaches us and we stop it in order."""

    def __init__(self, command: list[str], env: dict[str, str], log_path: Path):
        self.command = command
        self.env = env
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None
        self._log = None

    def start(self, base_url: str) -> None:
        self._log = open(self.log_path, "wb")  # closed in stop()
        self.proc = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                requests.get(base_url + BASELINE_PATH, timeout=2)  # 405: the app answers
                return
            except requests.RequestException:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer within {SERVER_START_TIMEOUT_SECONDS:.0f} s")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # graceful: the master stops its workers
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        if self._log is not None:
            self._log.close()
            self._log = None

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


# --- CPU accounting -----------------------------------------------------------------------

_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int) -> float:
    """utime + stime of one process, in seconds (Linux /proc); 0 when it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except (OSError, ValueError):
        return []


@dataclass(frozen=True)
class CpuUse:
    """CPU seconds burnt during a phase, by party."""

    client: float = 0.0  # this process: the sending threads
    server: float = 0.0  # gunicorn master and workers
    database: float = 0.0  # PostgreSQL backends connected to the bench database

    def __add__(self, other: CpuUse) -> CpuUse:
        return CpuUse(self.client + other.client, self.server + other.server, self.database + other.database)


@dataclass(frozen=True)
class CpuSample:
    client: float
    server: dict[int, float]  # pid -> CPU seconds so far
    database: dict[int, float]

    def __sub__(self, before: CpuSample) -> CpuUse:
        # Per process, so a worker or backend that appears mid-phase is counted from zero.
        def spent(now: dict[int, float], then: dict[int, float]) -> float:
            return sum(seconds - then.get(pid, 0.0) for pid, seconds in now.items())

        return CpuUse(
            self.client - before.client,
            spent(self.server, before.server),
            spent(self.database, before.database),
        )


def cpu_sample(server_pid: int | None, database: str) -> CpuSample:
    """Best effort, Linux /proc only: the CPU time of every process serving the benchmark."""
    server: dict[int, float] = {}
    if server_pid is not None:
        server = {pid: _proc_cpu(pid) for pid in [server_pid, *_children(server_pid)]}
    backends: dict[int, float] = {}
    try:
        with database_connect("postgres") as conn:
            pids = conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [database],
            ).fetchall()
        backends = {pid: _proc_cpu(pid) for (pid,) in pids}
    except psycopg.Error:
        pass
    return CpuSample(time.process_time(), server, backends)


# --- Load ---------------------------------------------------------------------------------


@dataclass
class PhaseResult:
    name: str
    planned: int
    elapsed: float = 0.0
    latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)  # HTTP status code
    outcomes: Counter = field(default_factory=Counter)  # the JSON "status" of the answer
    errors: Counter = field(default_factory=Counter)  # transport failures, by exception
    timed_out: bool = False
    cpu: CpuUse | None = None  # CPU seconds spent during the phase, by party

    @classmethod
    def merged(cls, name: str, parts: Sequence[PhaseResult]) -> PhaseResult:
        """Rounds of one endpoint as one result: times, latencies and counts add up."""
        result = cls(name=name, planned=sum(p.planned for p in parts))
        for part in parts:
            result.elapsed += part.elapsed
            result.latencies += part.latencies
            result.statuses.update(part.statuses)
            result.outcomes.update(part.outcomes)
            result.errors.update(part.errors)
            result.timed_out |= part.timed_out
            if part.cpu is not None:
                result.cpu = part.cpu if result.cpu is None else result.cpu + part.cpu
        return result

    @property
    def completed(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.completed / self.elapsed if self.elapsed > 0 else 0.0

    def percentile(self, p: float) -> float:
        return percentile(self.latencies, p)

    @property
    def server_errors(self) -> int:
        return sum(n for code, n in self.statuses.items() if code >= 500)


def phase_run(
    *,
    name: str,
    items: Sequence[Any],
    concurrency: int,
    client_new: Callable[[], Any],
    client_close: Callable[[Any], None],
    send: Callable[[Any, Any], requests.Response],
    time_limit: float,
) -> PhaseResult:
    """Send every item once from `concurrency` threads, each with its own connection.

    Stops taking new items after `time_limit` seconds; every request has its own timeout.
    """
    result = PhaseResult(name=name, planned=len(items))
    lock = threading.Lock()
    next_index = 0
    ready = threading.Barrier(concurrency + 1)
    stop_at = [math.inf]

    def worker() -> None:
        nonlocal next_index
        client = client_new()
        latencies: list[float] = []
        statuses: Counter = Counter()
        outcomes: Counter = Counter()
        errors: Counter = Counter()
        try:
            ready.wait(timeout=60)
            while True:
                with lock:
                    index = next_index
                    next_index += 1
                if index >= len(items):
                    break
                if time.monotonic() > stop_at[0]:
                    result.timed_out = True
                    break
                started = time.perf_counter()
                try:
                    response = send(client, items[index])
                except requests.RequestException as exc:
                    errors[type(exc).__name__] += 1
                    continue
                latencies.append(time.perf_counter() - started)
                statuses[response.status_code] += 1
                try:
                    outcomes[str(response.json().get("status"))] += 1
                except (ValueError, AttributeError):
                    outcomes["(not JSON)"] += 1
        finally:
            client_close(client)
            with lock:
                result.latencies += latencies
                result.statuses.update(statuses)
                result.outcomes.update(outcomes)
                result.errors.update(errors)

    threads = [threading.Thread(target=worker, name=f"{name}-{i}", daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    ready.wait(timeout=60)
    started = time.perf_counter()
    stop_at[0] = time.monotonic() + time_limit
    join_deadline = time.monotonic() + time_limit + REQUEST_TIMEOUT_SECONDS + 10
    for thread in threads:
        thread.join(timeout=max(0.0, join_deadline - time.monotonic()))
    result.elapsed = time.perf_counter() - started
    if any(thread.is_alive() for thread in threads):
        result.timed_out = True
    return result


def webhook_phase(args, base_url: str, notices: Sequence[Notice], name: str) -> PhaseResult:
    from sandbox.notification_sender import NotificationSender

    return phase_run(
        name=name,
        items=notices,
        concurrency=args.concurrency,
        client_new=lambda: NotificationSender(
            base_url=base_url, api_key=API_KEY, secret_b64=API_SECRET, timeout=REQUEST_TIMEOUT_SECONDS
        ),
        client_close=lambda sender: sender.close(),
        # send() signs just before posting: the timestamp is always fresh.
        send=lambda sender, notice: sender.send(notice.kind, notice.payload),
        time_limit=args.time_limit / args.rounds,
    )


def baseline_phase(args, base_url: str, bodies: Sequence[bytes], name: str) -> PhaseResult:
    url = base_url + BASELINE_PATH
    headers = {"content-type": "application/json"}
    return phase_run(
        name=name,
        items=bodies,
        concurrency=args.concurrency,
        client_new=requests.Session,
        client_close=lambda session: session.close(),
        send=lambda session, body: session.post(
            url, data=body, headers=headers, timeout=REQUEST_TIMEOUT_SECONDS
        ),
        time_limit=args.time_limit / args.rounds,
    )


def warmup_notices(count: int) -> list[Notice]:
    """Signed notices without a transaction id: the whole intake path runs, no money moves."""
    return [
        Notice(
            "pending",
            {
                "event_id": f"{WARMUP_KEY_PREFIX}{i}",
                "idempotency_key": f"{WARMUP_KEY_PREFIX}{i}",
                "user_id": "usr-warmup",
                "account_type": "points",
                "amount": "1.00",
            },
        )
        for i in range(count)
    ]


# --- Verification -------------------------------------------------------------------------


def ledger_compare(conn: psycopg.Connection, expected: Expected) -> list[str]:
    problems: list[str] = []
    rows = conn.execute(
        "SELECT m.pomelo_user_id, a.account_type, a.pending_balance, a.available_balance "
        "FROM accounts_rewardaccount a JOIN accounts_member m ON m.id = a.member_id"
    ).fetchall()
    actual = {(user, kind): (pending, available) for user, kind, pending, available in rows}
    zero = (Decimal("0.00"), Decimal("0.00"))
    for account in sorted(set(expected.balances) | set(actual)):
        want = expected.balances.get(account, zero)
        got = actual.get(account, zero)
        if want != got:
            problems.append(f"account {account}: expected pending/available {want}, found {got}")

    rows = conn.execute(
        "SELECT transaction_id, account_type, state, amount FROM rewards_rewardevent"
    ).fetchall()
    found = {(tx, kind): (state, amount) for tx, kind, state, amount in rows}
    for reward in sorted(set(expected.rewards) | set(found)):
        want_state, want_amount = expected.rewards.get(reward, ("(none)", None))
        state, amount = found.get(reward, ("(none)", None))
        if state != want_state or (want_amount is not None and amount != want_amount):
            problems.append(f"reward {reward}: expected {want_state} {want_amount}, found {state} {amount}")
    return problems


def received_count(database: str) -> int:
    with database_connect(database) as conn:
        return conn.execute("SELECT count(*) FROM webhooks_delivery WHERE outcome = 'received'").fetchone()[0]


def inbox_drain(env: dict[str, str], args: argparse.Namespace) -> list[str]:
    """Apply what the intake stored and no inbox worker applied during the sends: first
    --one-by-one deliveries in batches of one, then the rest in batches of
    --apply-batch-size, each by `manage.py inbox_worker` (which times itself, without its
    start-up). Returns report lines."""
    lines, rates = [], {}
    waiting = received_count(args.database)
    steps = [("batches of 1", 1, min(args.one_by_one, waiting)),
             (f"batches of {args.apply_batch_size}", args.apply_batch_size, None)]
    for label, size, limit in steps:
        if limit == 0 or received_count(args.database) == 0:
            continue
        command = ["inbox_worker", "--until-empty", "--batch-size", str(size)]
        command += ["--max-batches", str(limit)] if limit else []
        done = manage(env, *command)
        match = re.search(r"applied (\d+) deliveries in ([\d.]+) s", done.stdout)
        if done.returncode != 0 or not match:
            lines.append(f"  inbox drain ({label}) failed: {(done.stdout + done.stderr)[-500:]}")
            continue
        count, seconds = int(match.group(1)), float(match.group(2))
        rates[size] = count / seconds if seconds else 0.0
        lines.append(f"  batch apply ({label})  {count} deliveries in {seconds:.2f} s = {rates[size]:.0f}/s")
    if 1 in rates and args.apply_batch_size in rates and rates[1]:
        lines.append(f"  ratio batch/one-by-one  {rates[args.apply_batch_size] / rates[1]:.1f}")
    return lines


def inbox_lag_lines(database: str) -> list[str]:
    """Per notification: from its acknowledgement (received_at) to its ledger work
    (processed_at); and from the last acknowledgement to the last ledger entry."""
    with database_connect(database) as conn:
        lags = [row[0] for row in conn.execute(
            "SELECT extract(epoch FROM processed_at - received_at) FROM webhooks_delivery "
            "WHERE outcome IN ('processed', 'flagged') AND idempotency_key NOT LIKE %s ORDER BY 1",
            [WARMUP_KEY_PREFIX + "%"],
        ).fetchall()]
        tail = conn.execute(
            "SELECT extract(epoch FROM (SELECT max(created_at) FROM rewards_ledgerentry) - "
            "(SELECT max(received_at) FROM webhooks_delivery))"
        ).fetchone()[0]
    if not lags:
        return []
    def at(p: float) -> float:
        return float(lags[min(len(lags) - 1, int(len(lags) * p / 100))])
    return [f"  lag per notification    p50 {at(50) * 1000:.0f} ms, p99 {at(99) * 1000:.0f} ms, "
            f"max {float(lags[-1]) * 1000:.0f} ms",
            f"  last ack -> last entry  {float(tail or 0) * 1000:.0f} ms"]


def delivery_outcomes(conn: psycopg.Connection) -> Counter:
    rows = conn.execute(
        "SELECT outcome, count(*) FROM webhooks_delivery WHERE idempotency_key NOT LIKE %s GROUP BY outcome",
        [WARMUP_KEY_PREFIX + "%"],
    ).fetchall()
    return Counter(dict(rows))


# --- Report -------------------------------------------------------------------------------


def phase_print(result: PhaseResult) -> None:
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(result.statuses.items())) or "none"
    outcomes = ", ".join(f"{k}: {n}" for k, n in sorted(result.outcomes.items())) or "none"
    print(f"  {result.name}")
    print(f"    requests         {result.completed} of {result.planned} in {result.elapsed:.2f} s")
    print(f"    throughput       {result.throughput:8.1f} req/s")
    print(f"    latency p50      {result.percentile(50) * 1000:8.1f} ms")
    print(f"    latency p99      {result.percentile(99) * 1000:8.1f} ms")
    print(f"    HTTP status      {codes}")
    print(f"    answered status  {outcomes}")
    if result.cpu is not None and result.completed:
        per = 1000 / result.completed
        cpu = result.cpu
        print(
            f"    CPU per request  gunicorn {cpu.server * per:.2f} ms, postgres backends "
            f"{cpu.database * per:.2f} ms, client {cpu.client * per:.2f} ms"
        )
    if result.errors:
        print(f"    transport errors {dict(result.errors)}")
    if result.timed_out:
        print(f"    stopped by the time limit ({result.completed} answered)")


def equivalent_command(args: argparse.Namespace) -> str:
    python = os.path.relpath(sys.executable, Path.cwd()) if sys.executable else "python"
    return shlex.join(
        [
            python,
            "bench/webhooks.py",
            "--notifications",
            str(args.notifications),
            "--concurrency",
            str(args.concurrency),
            "--workers",
            str(args.workers),
            "--worker-class",
            args.worker_class,
            "--threads",
            str(args.threads),
            "--members",
            str(args.members),
            "--duplicates",
            str(args.duplicates),
            "--seed",
            str(args.seed),
            "--rounds",
            str(args.rounds),
            "--conn-max-age",
            str(args.conn_max_age),
            "--database",
            args.database,
            "--inbox-workers",
            str(args.inbox_workers),
            "--apply-batch-size",
            str(args.apply_batch_size),
            "--one-by-one",
            str(args.one_by_one),
            *(["--app", args.app] if args.app != "loyalty_backoffice.wsgi:application" else []),
        ]
    )


# --- Main ---------------------------------------------------------------------------------


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument(
        "--notifications", type=int, default=5000, help="webhook requests to send (and baseline requests)"
    )
    parser.add_argument("--concurrency", type=int, default=16, help="client connections (threads)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS, help="gunicorn worker processes")
    parser.add_argument("--worker-class", default=DEFAULT_WORKER_CLASS, choices=["sync", "gthread"])
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="threads per gthread worker")
    parser.add_argument(
        "--app",
        default="loyalty_backoffice.wsgi:application",
        help="WSGI application gunicorn serves (module:callable), e.g. a candidate build",
    )
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--duplicates", type=float, default=0.2, help="share of sends that are exact copies")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--conn-max-age", type=int, default=60, help="DATABASE_CONN_MAX_AGE for gunicorn")
    parser.add_argument(
        "--database", default="loyalty_bench", help="PostgreSQL database, dropped and created"
    )
    parser.add_argument("--target-ratio", type=float, default=0.5)
    parser.add_argument(
        "--rounds", type=int, default=3, help="alternate webhook and baseline batches this many times"
    )
    parser.add_argument(
        "--time-limit", type=float, default=600.0, help="seconds per endpoint (all rounds), at most"
    )
    parser.add_argument("--warmup", type=int, default=64, help="requests per endpoint before measuring")
    parser.add_argument("--inbox-workers", type=int, default=0,
                        help="inbox workers applying during the sends (lag figures); 0: apply after")
    parser.add_argument("--apply-batch-size", type=int, default=500, help="inbox worker batch size")
    parser.add_argument("--one-by-one", type=int, default=1000,
                        help="after the sends, apply this many in batches of one first (the ratio)")
    args = parser.parse_args(argv)
    limits = [
        (1 <= args.notifications <= 1_000_000, "--notifications must be 1..1000000"),
        (1 <= args.concurrency <= 256, "--concurrency must be 1..256"),
        (1 <= args.workers <= 64, "--workers must be 1..64"),
        (1 <= args.threads <= 64, "--threads must be 1..64"),
        (1 <= args.members <= 1_000_000, "--members must be 1..1000000"),
        (0 <= args.duplicates < 1, "--duplicates must be in [0, 1)"),
        (0 < args.time_limit <= 3600, "--time-limit must be in (0, 3600]"),
        (0 <= args.warmup <= 10_000, "--warmup must be 0..10000"),
        (1 <= args.rounds <= min(100, args.notifications), "--rounds must be 1..100 and <= --notifications"),
        (database_name_ok(args.database), "--database: a plain name, not CI's or postgres"),
    ]
    limits_enforce(parser, limits)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    sigterm_as_interrupt()
    os.chdir(ROOT)
    env = app_env(args)

    print(f"generating {args.notifications} notifications (seed {args.seed}, {args.members} members)")
    workload = workload_generate(
        count=args.notifications, members=args.members, duplicate_share=args.duplicates, seed=args.seed
    )
    expected = expected_compute(workload.unique)
    kinds = Counter(n.kind for n in workload.sends)
    print(
        f"  {len(workload.unique)} unique + {workload.duplicates} duplicates; "
        f"{len(expected.rewards)} rewards over {len(expected.balances)} accounts; "
        + ", ".join(f"{k} {n}" for k, n in sorted(kinds.items()))
        + f"; {early_notices(workload.sends)} arrive before their pending"
    )

    load_before = os.getloadavg()
    print(f"creating database {args.database} and migrating")
    database_recreate(args.database)
    migrated = manage(env, "migrate", "--noinput")
    if migrated.returncode != 0:
        print(migrated.stdout + migrated.stderr, file=sys.stderr)
        return 2
    with database_connect(args.database) as conn:
        from bench.baseline import CREATE_TABLE_SQL

        conn.execute(CREATE_TABLE_SQL)

    port = free_port()
    base_url = f"http://{HOST}:{port}"
    command = gunicorn_command(args, port)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    server = Server(command, env, log_dir / "gunicorn.log")
    inbox_workers: list[subprocess.Popen] = []
    try:
        print(f"starting gunicorn: {shlex.join(command[1:])}")
        server.start(base_url)
        for _ in range(args.inbox_workers):
            inbox_workers.append(subprocess.Popen(
                [sys.executable, "manage.py", "inbox_worker", "--batch-size", str(args.apply_batch_size)],
                cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))

        if args.warmup:
            warm = baseline_phase(args, base_url, [b"{}"] * args.warmup, "warm-up baseline")
            warm_hooks = webhook_phase(args, base_url, warmup_notices(args.warmup), "warm-up webhooks")
            if warm.server_errors or warm_hooks.server_errors or warm.errors or warm_hooks.errors:
                print("warm-up failed:", dict(warm.statuses), dict(warm_hooks.statuses), file=sys.stderr)
                print(server.log_tail(), file=sys.stderr)
                return 2

        pid = server.proc.pid if server.proc else None
        bodies = [json.dumps(n.payload, separators=(",", ":")).encode() for n in workload.sends]
        hook_parts: list[PhaseResult] = []
        base_parts: list[PhaseResult] = []
        # Rounds alternate the endpoints, so load from elsewhere on the machine hits both alike.
        for r in range(args.rounds):
            part = slice(r * len(bodies) // args.rounds, (r + 1) * len(bodies) // args.rounds)
            label = f"round {r + 1}/{args.rounds}: " if args.rounds > 1 else ""
            print(f"{label}sending {len(bodies[part])} webhooks from {args.concurrency} connections")
            before = cpu_sample(pid, args.database)
            hook_parts.append(webhook_phase(args, base_url, workload.sends[part], "webhooks"))
            hook_parts[-1].cpu = cpu_sample(pid, args.database) - before
            print(f"{label}sending {len(bodies[part])} baseline requests from {args.concurrency} connections")
            before = cpu_sample(pid, args.database)
            base_parts.append(baseline_phase(args, base_url, bodies[part], "baseline"))
            base_parts[-1].cpu = cpu_sample(pid, args.database) - before
        hooks = PhaseResult.merged("webhooks (POST /webhooks/pomelo/loyalty/*)", hook_parts)
        base = PhaseResult.merged(f"baseline (POST {BASELINE_PATH}, one INSERT)", base_parts)
        # The inbox workers finish what was acknowledged before we stop them.
        deadline = time.monotonic() + args.time_limit
        while inbox_workers and received_count(args.database) and time.monotonic() < deadline:
            time.sleep(0.05)
        load_after = os.getloadavg()
    finally:
        server.stop()
        for worker in inbox_workers:
            worker.terminate()
        for worker in inbox_workers:
            worker.wait(timeout=60)
    drained = inbox_drain(env, args)
    lag = inbox_lag_lines(args.database) if args.inbox_workers else []
    server_log = server.log_tail(100_000)

    ledger = manage(env, "check_ledger")
    with database_connect(args.database) as conn:
        problems = ledger_compare(conn, expected)
        outcomes = delivery_outcomes(conn)

    ratio = hooks.throughput / base.throughput if base.throughput else 0.0
    print()
    print("=" * 78)
    print(f"command:     {shlex.join(sys.orig_argv)}")
    print(f"equivalent:  {equivalent_command(args)}")
    print(
        f"server:      gunicorn {args.workers} x {args.worker_class}"
        + (f" ({args.threads} threads)" if args.worker_class == "gthread" else "")
        + f", DATABASE_CONN_MAX_AGE={args.conn_max_age}, database {args.database}, {os.cpu_count()} CPUs"
    )
    print(
        f"machine:     load average {load_before[0]:.2f} before, {load_after[0]:.2f} after "
        "(anything above ~0 is other work competing for the CPUs)"
    )
    print(
        f"workload:    {len(workload.unique)} unique notifications + {workload.duplicates} exact duplicates, "
        f"shuffled, seed {args.seed}; {args.rounds} round(s) alternating with the baseline"
    )
    print("-" * 78)
    phase_print(hooks)
    phase_print(base)
    print("-" * 78)
    print(f"  deliveries per second   {hooks.throughput:.1f}  (baseline {base.throughput:.1f} req/s)")
    print(f"  ratio webhook/baseline  {ratio:.3f}  (target >= {args.target_ratio})")
    print(f"  delivery outcomes (db)  {dict(sorted(outcomes.items()))}")
    for line in drained + lag:
        print(line)
    print(f"  check_ledger            exit {ledger.returncode}: {(ledger.stdout + ledger.stderr).strip()}")
    if problems:
        print(f"  expected ledger         {len(problems)} difference(s), first ones:")
        for line in problems[:10]:
            print(f"    {line}")
    else:
        print(
            f"  expected ledger         matches: {len(expected.balances)} accounts, "
            f"{len(expected.rewards)} rewards"
        )
    tracebacks = server_log.count("Traceback")
    if tracebacks:
        print(f"  server log              {tracebacks} traceback(s) in {server.log_path}")

    dedupe_exact = (
        outcomes.get("processed", 0) == len(workload.unique)
        and outcomes.get("duplicate", 0) == workload.duplicates
    )
    checks = {
        f"ratio >= {args.target_ratio}": ratio >= args.target_ratio,
        "no 5xx": hooks.server_errors == 0 and base.server_errors == 0,
        "every request answered": not (hooks.errors or base.errors or hooks.timed_out or base.timed_out)
        and hooks.completed == hooks.planned
        and base.completed == base.planned,
        "check_ledger clean": ledger.returncode == 0,
        "ledger matches expectation": not problems,
        "each notification processed once": dedupe_exact,
    }
    print("-" * 78)
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAIL'}] {name}")
    met = all(checks.values())
    print("TARGET MET" if met else "TARGET MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted; gunicorn stopped", file=sys.stderr)
        sys.exit(130)
