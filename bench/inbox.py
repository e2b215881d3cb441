"""The inbox worker: batch-apply rate against one-by-one, and lag under a burst with kills.

    .venv/bin/python -m bench.inbox [--burst 20000] [--inbox-workers 2] [--kills 3]
                                    [--batch-notifications 5000] [--single-notifications 1000]

Three phases against one PostgreSQL database (recreated), the app served by gunicorn with
WEBHOOK_APPLY_INLINE off, as in production:
  1. batch rate: stores --batch-notifications signed notifications (no worker running), then
     one `inbox_worker --until-empty` applies them in batches of WEBHOOK_APPLY_BATCH_SIZE;
  2. one-by-one rate: the same with --single-notifications and `--batch-size 1` (a transaction
     per notification), so the ratio of the two is measured in the same run;
  3. burst: --inbox-workers workers wait on LISTEN/NOTIFY while 16 keep-alive senders deliver
     --burst notifications (20% duplicates, shuffled, some before their pending); --kills
     times a worker is killed with SIGKILL while it holds a batch and a new one is started.
     Reports the lag of each notification (stored -> applied) at p50/p99/max and the time from
     the last acknowledgement to the last ledger entry.
Then checks: every notification stored once, balances and rewards equal what the
notifications imply (bench.lib.oracle), `check_ledger` clean, inbox empty.
"""

import argparse
import os
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from bench.intake import (
    TIMEOUT,
    Notice,
    early,
    ledger_differences,
    phase_run,
    stored_keys,
    workload,
)
from bench.lib import cli
from bench.lib.inbox import InboxKiller, inbox_wait_empty, inbox_worker
from bench.lib.pg import database_connect
from bench.lib.processes import (
    API_KEY,
    API_SECRET,
    HOST,
    Process,
    app_env,
    database_migrated,
    free_port,
    gunicorn,
    manage,
    manage_ok,
)
from sandbox.notification_sender import NotificationSender


def deliver(base_url: str, sends: Sequence[Notice], *, senders: int, server_pid: int,
            database: str):
    return phase_run(
        "deliveries", sends, senders=senders, server_pid=server_pid, database=database,
        client_new=lambda: NotificationSender(base_url=base_url, api_key=API_KEY,
                                              secret_b64=API_SECRET, timeout=TIMEOUT),
        send=lambda sender, notice: sender.send(*notice),
    )


def drain_rate(env: dict[str, str], *options: str) -> tuple[int, float]:
    """(applied, seconds) as the worker itself reports them: process start not included."""
    out = manage_ok(env, "inbox_worker", "--until-empty", *options).split()
    # "applied N deliveries in S s"
    return int(out[out.index("applied") + 1]), float(out[out.index("in") + 1])


def lag_figures(database: str, since_id: int) -> dict[str, float]:
    with database_connect(database) as conn:
        lags = [row[0] for row in conn.execute(
            "SELECT extract(epoch FROM processed_at - received_at) FROM webhooks_delivery "
            "WHERE id > %s AND outcome IN ('processed', 'flagged') ORDER BY 1", [since_id])]
        last_entry = conn.execute("SELECT extract(epoch FROM max(created_at)) "
                                  "FROM rewards_ledgerentry").fetchone()[0]
    return {"count": len(lags), "p50": cli.percentile(lags, 50), "p99": cli.percentile(lags, 99),
            "max": max(lags) if lags else 0.0, "last_entry": float(last_entry or 0)}


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = cli.parser_create(__doc__, database="loyalty_bench_inbox")
    add = parser.add_argument
    add("--burst", type=int, default=20_000, help="deliveries sent in the burst")
    add("--inbox-workers", type=int, default=2)
    add("--kills", type=int, default=3, help="inbox workers killed mid-batch during the burst")
    add("--batch-notifications", type=int, default=5000)
    add("--single-notifications", type=int, default=1000)
    add("--senders", type=int, default=16)
    add("--workers", type=int, default=4, help="gunicorn sync workers")
    add("--members", type=int, default=500)
    add("--target-rate", type=float, default=1000.0, help="batch apply, notifications/s")
    add("--settle", type=float, default=120.0, help="seconds to wait for the inbox to empty")
    return cli.arguments_parse(parser, argv, lambda a: [
        (1 <= a.burst <= 1_000_000, "--burst must be 1..1000000"),
        (1 <= a.inbox_workers <= 32, "--inbox-workers must be 1..32"),
        (0 <= a.kills <= 100, "--kills must be 0..100"),
        (1 <= a.batch_notifications <= 1_000_000, "--batch-notifications must be 1..1000000"),
        (1 <= a.single_notifications <= 100_000, "--single-notifications must be 1..100000"),
        (1 <= a.senders <= 256, "--senders must be 1..256"),
    ])


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    load_before = os.getloadavg()[0]
    env = app_env(args.database, DATABASE_CONN_MAX_AGE="600", WEBHOOK_APPLY_INLINE="false")
    database_migrated(args.database, env)
    log_dir = Path(tempfile.mkdtemp(prefix="bench-inbox-"))
    port = free_port()
    base_url = f"http://{HOST}:{port}"
    server = gunicorn(env, port=port, workers=args.workers, log_dir=log_dir).start()
    stop = threading.Event()
    workers: list[Process] = []
    all_unique: list[Notice] = []
    try:
        server.wait_http(base_url + "/healthz")

        def send(count: int, seed: int) -> None:
            unique, sends = workload(count=count, members=args.members, duplicate_share=0.2, seed=seed)
            all_unique.extend(unique)
            deliver(base_url, sends, senders=args.senders, server_pid=server.pid,
                    database=args.database)

        print(f"batch rate: storing {args.batch_notifications} deliveries")
        send(args.batch_notifications, args.seed)
        batch_applied, batch_seconds = drain_rate(env)
        print(f"one-by-one rate: storing {args.single_notifications} deliveries")
        send(args.single_notifications, args.seed + 1)
        single_applied, single_seconds = drain_rate(env, "--batch-size", "1")

        with database_connect(args.database) as conn:
            since_id = conn.execute("SELECT coalesce(max(id), 0) FROM webhooks_delivery").fetchone()[0]

        def spawn(name: str) -> Process:
            return inbox_worker(env, log_dir, name)

        workers += [spawn(f"inbox-worker-{i + 1}").start() for i in range(args.inbox_workers)]
        time.sleep(2)  # listening before the burst starts
        killer = InboxKiller(workers=workers, spawn=spawn, kills=args.kills,
                             database=args.database, stop=stop)
        killer_thread = killer.start()
        unique, sends = workload(count=args.burst, members=args.members, duplicate_share=0.2,
                                 seed=args.seed + 2)
        all_unique.extend(unique)
        print(f"burst: {len(sends)} deliveries ({len(unique)} unique, {early(sends)} before their "
              f"pending), {args.inbox_workers} inbox workers, {args.kills} kill(s)")
        burst = deliver(base_url, sends, senders=args.senders, server_pid=server.pid,
                        database=args.database)
        last_ack = time.time()
        left, _ = inbox_wait_empty(args.database, timeout=args.settle)
        stop.set()
        killer_thread.join(timeout=30)
        lag = lag_figures(args.database, since_id)
    finally:
        stop.set()
        for worker in workers:
            worker.stop()
        server.stop()
    manage_ok(env, "inbox_worker", "--until-empty")  # whatever a killed worker left
    problems = ledger_differences(args.database, all_unique, 10)
    ledger = manage(env, "check_ledger")
    stored = stored_keys(args.database)

    cli.header_print("bench.inbox", args, load_before)
    batch_rate = batch_applied / max(batch_seconds, 1e-9)
    single_rate = single_applied / max(single_seconds, 1e-9)
    print(f"batch apply       {batch_applied} in {batch_seconds:.2f} s = {batch_rate:,.0f}/s "
          f"(one worker, batches of the default size)")
    print(f"one by one        {single_applied} in {single_seconds:.2f} s = {single_rate:,.0f}/s "
          f"(--batch-size 1: a transaction each)")
    print(f"ratio             batch / one-by-one {cli.ratio(batch_rate, single_rate):.1f}")
    print(f"burst intake      {len(burst.latencies)} of {burst.planned} answered in "
          f"{burst.elapsed:.1f} s ({burst.throughput:,.0f}/s), p99 {burst.p(99):.1f} ms, "
          f"status {dict(sorted(burst.statuses.items()))}")
    print(f"lag per notif.    p50 {lag['p50']:.2f} s, p99 {lag['p99']:.2f} s, max {lag['max']:.2f} s "
          f"over {lag['count']} applied ({args.inbox_workers} workers)")
    print(f"last ack -> last ledger entry {max(0.0, lag['last_entry'] - last_ack):.2f} s")
    print("kills             " + ("; ".join(killer.done) or "none"))
    print(f"inbox left        {left} received after {args.settle:g} s")
    print(f"check_ledger      exit {ledger.returncode}: {(ledger.stdout + ledger.stderr).strip()[-160:]}")
    print(f"stored            {stored} notifications for {len(all_unique)} unique sent")
    print(f"ledger vs expectation {len(problems)} difference(s)")
    print("".join(f"    {p}\n" for p in problems[:10]), end="")
    return cli.checks_print({
        f"batch apply >= {args.target_rate:g}/s": batch_rate >= args.target_rate,
        f"{args.kills} worker(s) killed holding a batch": len(killer.done) == args.kills,
        "burst answered, no 5xx": burst.clean,
        "inbox emptied by the workers": left == 0,
        "every notification stored once": stored == len(all_unique),
        "balances and rewards equal the expectation (nothing lost, nothing twice)": not problems,
        "check_ledger clean": ledger.returncode == 0,
    })


if __name__ == "__main__":
    cli.suite_run(main)
