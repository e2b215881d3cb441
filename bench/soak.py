"""A worst day: heavy duplicated webhook traffic, manual adjustments on a flaky Pomelo, a crash.

Run from the project root:

    .venv/bin/python -m bench.soak [--notifications 20000] [--senders 32] [--adjustments 200]

What it does, end to end, talking only to 127.0.0.1:
  1. drops and creates a PostgreSQL database (loyalty_soak) and migrates it; starts the stand-in
     Pomelo (`manage.py run_sandbox_pomelo`, 20% of loyalty calls answered 500, every call
     delayed a little, a few calls applied and then cut off before the answer), gunicorn
     serving the app, two `manage.py db_worker` processes (TASKS_BACKEND=django_tasks_db) and
     two `manage.py inbox_worker` processes applying what the intake stored (as in
     production: WEBHOOK_APPLY_INLINE off; `--inbox-workers 0` applies inline instead), all
     with the same environment;
  2. registers the simulated members at the stand-in, applies Pomelo's side of the card
     traffic, and delivers ~20,000 signed notifications (30% duplicated, shuffled) from 32
     sender threads, each with its own NotificationSender; a delivery answered 5xx or not at
     all is sent again, as Pomelo would;
  3. meanwhile requests and approves 200 adjustments through the services in this process
     (credits mostly, debits within both balances, a few needing two approvers, a few approved
     by two approvers clicking at once); the db_workers submit them to the flaky stand-in;
     then waits until none is open, retries those that failed on the outage, and closes any
     left of unknown outcome (past the idempotency window) as an approver would, by what the
     stand-in shows applied under its key;
  4. asserts: every delivery sent is recorded; every 2xx names a stored, answered delivery;
     each notification claimed exactly once; no reward applied twice and every reward in the
     state its notifications imply; every succeeded adjustment applied once at Pomelo and
     booked once, failed ones nowhere; `check_ledger` clean; ledger available = Pomelo's
     balance for every member and account type; reconciliation finds no drift;
  5. crash phase: another ~3,000 notifications, with gunicorn workers killed (SIGKILL) in the
     middle and inbox workers killed while they hold a batch (each replaced, as systemd
     would); retries what was not acknowledged; asserts every acknowledged notification is
     stored and the ledger is still clean and equal to Pomelo's;
  6. prints every figure and the command line; stops every process it started.

Exits 0 when every check holds, 1 when one fails, 2 when the run could not be carried out.
The database is left in place for inspection; logs stay in the printed directory.
"""

import argparse
import os
import re
import secrets
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.lib import cli
from bench.lib.cpu import cpu_sample
from bench.lib.inbox import InboxKiller, inbox_wait_empty, inbox_worker
from bench.lib.processes import (
    ACCOUNT_TYPES,
    HOST,
    ROOT,
    Process,
    app_env,
    children,
    database_migrated,
    free_port,
    gunicorn,
    manage,
    manage_ok,
    workers_wait,
)
from bench.soak_traffic import (
    DeliveryStats,
    Progress,
    deliver,
    plan_sized,
    pomelo_effects_apply,
    pomelo_get,
    pomelo_members_register,
    unique_notifications,
)
from sandbox.traffic import traffic_members

RULE = "=" * 86
THIN = "-" * 86


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = cli.parser_create(__doc__, database="loyalty_soak")
    parser.set_defaults(seed=7)
    add = parser.add_argument
    add("--notifications", type=int, default=20_000, help="deliveries in the main phase, duplicates included")
    add("--senders", type=int, default=32, help="concurrent sender threads")
    add("--adjustments", type=int, default=200, help="manual adjustments requested and approved")
    add("--crash-notifications", type=int, default=3_000, help="deliveries in the crash phase; 0 skips it")
    add("--kills", type=int, default=2, help="gunicorn workers killed with SIGKILL during the crash phase")
    add("--members", type=int, default=1_000)
    add("--duplicates", type=float, default=0.3, help="share of notifications delivered a second time")
    add("--workers", type=int, default=4, help="gunicorn sync workers")
    add("--db-workers", type=int, default=2, help="`manage.py db_worker` processes")
    add("--inbox-workers", type=int, default=2,
        help="`manage.py inbox_worker` processes applying the deliveries; 0: the intake applies "
             "each one inline")
    add("--inbox-kills", type=int, default=2,
        help="inbox workers killed with SIGKILL while holding a batch, during the crash phase")
    add("--adjustment-threads", type=int, default=4)
    add("--fail-percent", type=float, default=20.0, help="stand-in: share of loyalty calls answered 500")
    add("--delay-ms", type=int, default=20, help="stand-in: delay on every loyalty call")
    add("--drop-after-apply", type=int, default=5,
        help="stand-in: first N calls applied, then the connection cut before the answer")
    add("--time-limit", type=float, default=900.0, help="seconds per delivery phase, at most")
    add("--settle-timeout", type=float, default=300.0, help="seconds to wait for adjustments to settle")
    add("--resume-rounds", type=int, default=5, help="rounds of the sweep of overdue submissions")
    return cli.arguments_parse(parser, argv, lambda a: [
        (1 <= a.notifications <= 500_000, "--notifications must be 1..500000"),
        (1 <= a.senders <= 256, "--senders must be 1..256"),
        (0 <= a.adjustments <= 10_000, "--adjustments must be 0..10000"),
        (0 <= a.crash_notifications <= 100_000, "--crash-notifications must be 0..100000"),
        (0 <= a.kills <= 10, "--kills must be 0..10"),
        (1 <= a.members <= 100_000, "--members must be 1..100000"),
        (0 <= a.duplicates < 1, "--duplicates must be in [0, 1)"),
        (1 <= a.workers <= 32, "--workers must be 1..32"),
        (1 <= a.db_workers <= 8, "--db-workers must be 1..8"),
        (0 <= a.inbox_workers <= 8, "--inbox-workers must be 0..8"),
        (0 <= a.inbox_kills <= 10 and (a.inbox_workers or not a.inbox_kills),
         "--inbox-kills must be 0..10, and 0 without inbox workers"),
        (1 <= a.adjustment_threads <= 32, "--adjustment-threads must be 1..32"),
        (0 <= a.fail_percent <= 100, "--fail-percent must be 0..100"),
        (0 <= a.delay_ms <= 5_000, "--delay-ms must be 0..5000"),
        (0 <= a.drop_after_apply <= 1_000, "--drop-after-apply must be 0..1000"),
        (0 < a.time_limit <= 3_600, "--time-limit must be in (0, 3600]"),
        (0 < a.settle_timeout <= 3_600, "--settle-timeout must be in (0, 3600]"),
        (0 <= a.resume_rounds <= 50, "--resume-rounds must be 0..50"),
    ])


@dataclass
class Stack:
    pomelo: Process
    gunicorn: Process
    db_workers: list[Process]
    inbox_workers: list[Process]
    log_dir: Path

    @property
    def all(self) -> list[Process]:
        return [*self.inbox_workers, *self.db_workers, self.gunicorn, self.pomelo]  # stopping order

    def stop(self) -> None:
        for process in self.all:
            try:
                process.stop()
            except Exception as exc:  # keep stopping the others
                print(f"  could not stop {process.name}: {exc}", file=sys.stderr)


def stack_create(args, env: dict[str, str], *, pomelo_port: int, web_port: int, log_dir: Path) -> Stack:
    """The stand-in Pomelo, gunicorn, the db_workers and the inbox workers, one environment (not
    started yet)."""
    verbose = {**env, "LOG_LEVEL": "INFO"}  # the stand-in logs its faults, the client its retries
    pomelo = Process("stand-in Pomelo", [
        sys.executable, "manage.py", "run_sandbox_pomelo", "--host", HOST, "--port", str(pomelo_port),
        "--fail-percent", str(args.fail_percent), "--delay-ms", str(args.delay_ms),
        "--drop-after-apply-next", str(args.drop_after_apply), "--seed", str(args.seed),
    ], env=verbose, log_path=log_dir / "pomelo.log")
    db_workers = [
        Process(f"db_worker {i + 1}", [
            sys.executable, "manage.py", "db_worker", "--queue-name", "*", "--interval", "0.2", "--no-reload",
            "--worker-id", f"soak-{i + 1}",
        ], env=verbose, log_path=log_dir / f"db_worker-{i + 1}.log")
        for i in range(args.db_workers)
    ]
    web = gunicorn(env, port=web_port, workers=args.workers, log_dir=log_dir)
    inbox_workers = [inbox_worker(env, log_dir, f"inbox-worker-{i + 1}")
                     for i in range(args.inbox_workers)]
    return Stack(pomelo, web, db_workers, inbox_workers, log_dir)


# --- the crash --------------------------------------------------------------------------------


@dataclass
class Kill:
    pid: int
    at_fraction: float
    respawn_seconds: float | None


@dataclass
class Killer:
    master_pid: int
    workers: int
    kills: int
    progress: Progress
    stop: threading.Event
    done: list[Kill] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def run(self) -> None:
        killed: set[int] = set()
        for k in range(self.kills):
            point = (k + 1) / (self.kills + 1)
            while self.progress.fraction < point and not self.progress.finished.is_set():
                if self.stop.wait(0.02):
                    return
            if self.progress.finished.is_set():
                self.errors.append(f"traffic ended before kill {k + 1}")
                return
            live = [pid for pid in children(self.master_pid) if pid not in killed]
            if not live:
                self.errors.append("no gunicorn worker to kill")
                return
            victim = live[k % len(live)]
            at = self.progress.fraction
            try:
                os.kill(victim, signal.SIGKILL)  # a worker of the gunicorn this run started
            except ProcessLookupError:
                self.errors.append(f"worker {victim} was already gone")
                continue
            killed.add(victim)
            respawn = workers_wait(self.master_pid, self.workers, exclude=killed)
            self.done.append(Kill(victim, at, respawn))


# --- figures from the logs ---------------------------------------------------------------------


def pomelo_log_figures(text: str) -> dict[str, int]:
    return {
        "injected 5xx answers": len(re.findall(r"sandbox fault: answering \d+ to", text)),
        "injected drops (applied, answer cut off)": text.count("dropping the answer"),
        "injected connection drops (not applied)": len(re.findall(r"sandbox fault: dropping ", text)),
        "movements applied (mint/burn)": len(re.findall(r"sandbox (?:mint|burn) ", text)),
    }


def worker_log_figures(texts: Sequence[str]) -> dict[str, int]:
    joined = "\n".join(texts)
    return {
        "client retries (same idempotency key)": joined.count("pomelo retry"),
        "client saw 5xx": len(re.findall(r"-> 5\d\d in", joined)),
        "client lost the connection": len(
            re.findall(r"failed after \d+ ms: (?:Connection|ChunkedEncoding)", joined)
        ),
        "tracebacks": joined.count("Traceback"),
    }


# --- report helpers -----------------------------------------------------------------------------


class Report:
    def __init__(self) -> None:
        self.checks: list[tuple[str, bool, list[str]]] = []

    def check(self, name: str, problems: Sequence[str]) -> bool:
        from bench.soak_checks import shown

        ok = not problems
        self.checks.append((name, ok, shown(problems) if problems else []))
        print(f"  [{'ok' if ok else 'FAIL'}] {name}")
        for line in shown(problems):
            print(f"         {line}")
        return ok

    @property
    def passed(self) -> bool:
        return all(ok for _, ok, _ in self.checks)


def figures_print(title: str, figures: dict) -> None:
    print(f"  {title}")
    for name, value in figures.items():
        print(f"    {name:<46} {value}")


def delivery_print(stats: DeliveryStats) -> None:
    codes = ", ".join(f"{code}: {n}" for code, n in sorted(stats.statuses.items())) or "none"
    outcomes = ", ".join(f"{k}: {n}" for k, n in sorted(stats.outcomes.items())) or "none"
    figures_print(stats.name, {
        "deliveries planned": stats.planned,
        "HTTP requests sent (retries included)": stats.requests,
        "answered": stats.responses,
        "acknowledged (2xx)": len(stats.acks),
        "first pass": f"{stats.first_pass_elapsed:.1f} s, {stats.throughput:.1f} deliveries/s",
        "whole phase (with retries)": f"{stats.elapsed:.1f} s",
        "latency p50 / p99": f"{stats.percentile(50) * 1000:.0f} ms / {stats.percentile(99) * 1000:.0f} ms",
        "HTTP status": codes,
        "answered status": outcomes,
        "no answer (transport errors)": dict(stats.transport_errors) or 0,
        "retry rounds / deliveries sent again": f"{stats.retry_rounds} / {stats.resent}",
        "4xx (final, not retried)": len(stats.rejected),
        "never acknowledged": len(stats.unacknowledged),
    })


def cpu_print(cpu, stats: DeliveryStats) -> None:
    """Best effort (Linux): CPU seconds while the deliveries ran, by party. A process that ends
    during the phase takes its CPU time with it: a killed gunicorn worker, and a PostgreSQL
    backend whose connection reached DATABASE_CONN_MAX_AGE (60 s), so both are lower bounds."""
    per = 1000 / stats.requests if stats.requests else 0.0
    figures_print("CPU while delivering (seconds; ms per request; lower bounds)", {
        "gunicorn master and workers": f"{cpu.server:.1f}; {cpu.server * per:.2f}",
        "postgres backends of this database": f"{cpu.database:.1f}; {cpu.database * per:.2f}",
        "this process (senders, adjustments)": f"{cpu.client:.1f}; {cpu.client * per:.2f}",
    })


def ledger_command(env: dict[str, str]) -> tuple[list[str], str]:
    result = manage(env, "check_ledger")
    output = (result.stdout + result.stderr).strip()
    problems = [] if result.returncode == 0 else [f"exit {result.returncode}: {output[:500]}"]
    return problems, f"exit {result.returncode}: {output.splitlines()[-1] if output else ''}"


# --- main -----------------------------------------------------------------------------------------


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    started = time.perf_counter()
    stop = threading.Event()
    log_dir = Path(tempfile.mkdtemp(prefix="bench-soak-"))
    pomelo_port, web_port = free_port(), free_port()
    pomelo_url, base_url = f"http://{HOST}:{pomelo_port}", f"http://{HOST}:{web_port}"
    env = app_env(
        args.database, TASKS_BACKEND="django_tasks_db.DatabaseBackend", POMELO_BASE_URL=pomelo_url,
        POMELO_TOKEN_URL="", POMELO_CLIENT_ID="soak-client", POMELO_CLIENT_SECRET=secrets.token_urlsafe(24),
        POMELO_AUDIENCE="", CACHE_URL="locmemcache://",
        # As in production, the inbox workers apply what the intake stored; without them the
        # intake applies each delivery right after its INSERT.
        WEBHOOK_APPLY_INLINE="false" if args.inbox_workers else "true",
    )

    print(f"planning traffic: {args.members} members, seed {args.seed}")
    members = traffic_members(count=args.members, seed=args.seed)
    plan = plan_sized(members=members, notifications=args.notifications, seed=args.seed,
                      duplicates=args.duplicates)
    crash_plan = None
    if args.crash_notifications:
        crash_plan = plan_sized(members=members, notifications=args.crash_notifications,
                                seed=args.seed + 1000, duplicates=args.duplicates)
    plans = [plan] if crash_plan is None else [plan, crash_plan]
    unique = unique_notifications(plan)
    print(f"  main phase: {len(plan.notifications)} deliveries = {len(unique)} notifications + "
          f"{len(plan.notifications) - len(unique)} duplicates")

    database_migrated(args.database, env)

    stack = stack_create(args, env, pomelo_port=pomelo_port, web_port=web_port, log_dir=log_dir)
    report = Report()
    try:
        return _run(args, env, stack, report, stop=stop, plans=plans, members=members,
                    pomelo_url=pomelo_url, base_url=base_url, started=started)
    finally:
        stop.set()
        print(f"stopping {len(stack.all)} processes")
        stack.stop()
        if "django.db" in sys.modules:  # set up only once the processes answered
            from django.db import connections

            connections.close_all()


def _run(args, env, stack: Stack, report: Report, *, stop, plans, members, pomelo_url, base_url,
         started) -> int:
    plan = plans[0]
    load_start = os.getloadavg()[0]
    code_version = _code_version()
    print(f"starting processes (logs in {stack.log_dir}); load average {load_start}")
    stack.pomelo.start()
    stack.pomelo.wait_http(f"{pomelo_url}/_sandbox/faults")
    stack.gunicorn.start()
    # Not a webhook URL: every request there, a GET included, is recorded as a delivery.
    stack.gunicorn.wait_http(base_url + "/admin/login/")
    for worker in [*stack.db_workers, *stack.inbox_workers]:
        worker.start()
    for process in stack.all:
        print(f"  {process.name:<16} pid {process.pid}: {shlex.join(process.command[1:])}")

    # This process talks to the same database as the app, with the same task backend.
    os.environ.update({**env, "LOG_LEVEL": "ERROR"})
    import django

    django.setup()
    from bench import soak_checks as checks
    from bench.soak_adjustments import (
        AdjustmentDriver,
        adjustment_states,
        adjustments_decide_unknown,
        adjustments_resume_overdue,
        adjustments_settle,
        failed_but_applied,
        pomelo_exchange_figures,
        staff_create,
    )
    from rewards.services.reconciliation import reconciliation_run

    staff = staff_create(suffix=secrets.token_hex(3))
    print(f"registering {len(members)} members at the stand-in and applying Pomelo's side of the traffic")
    pomelo_members_register(pomelo_url, members)
    pomelo_effects_apply(pomelo_url, plan)
    time.sleep(1.0)
    dead = [p.name for p in stack.all if not p.alive()]
    if dead:
        raise RuntimeError(f"exited early: {', '.join(dead)}")

    # --- main phase: traffic and adjustments together ---
    progress = Progress()
    driver = AdjustmentDriver(
        count=args.adjustments, threads=args.adjustment_threads, seed=args.seed, staff=staff,
        pomelo_effects=plan.pomelo_effects, progress=lambda: progress.fraction,
        traffic_done=progress.finished, stop=stop, time_limit=args.time_limit,
    )
    print(f"delivering {len(plan.notifications)} notifications from {args.senders} senders; "
          f"{args.adjustments} adjustments alongside")
    driver.start()
    cpu_before = cpu_sample(stack.gunicorn.pid, args.database)
    main_stats = deliver(
        name="main phase deliveries", notifications=plan.notifications, base_url=base_url,
        senders=args.senders, progress=progress, stop=stop,
        time_limit=args.time_limit,
    )
    print(f"  first pass {main_stats.first_pass_elapsed:.1f} s, {main_stats.throughput:.1f} deliveries/s; "
          f"{main_stats.resent} sent again")
    main_cpu = cpu_sample(stack.gunicorn.pid, args.database) - cpu_before
    inbox_left, inbox_seconds = inbox_wait_empty(args.database, timeout=args.settle_timeout)
    driver.join(timeout=args.settle_timeout)
    run = driver.run
    ids = [r.adjustment_id for r in run.requested]
    print(f"  {len(ids)} adjustments requested and approved; waiting for the db_workers")
    states, settle_seconds = adjustments_settle(ids, timeout=args.settle_timeout, stop=stop)
    print(f"  settled in {settle_seconds:.1f} s: {dict(states)}")
    applied_while_failed = failed_but_applied(ids, pomelo_get(pomelo_url, "effects"))
    resume = adjustments_resume_overdue(ids, rounds=args.resume_rounds,
                                        settle_timeout=args.settle_timeout, stop=stop)
    # Past the idempotency window an adjustment waits for a person, who reads the balance at
    # Pomelo and closes it as applied or not applied: the bench does the same.
    decided = adjustments_decide_unknown(ids, effects=pomelo_get(pomelo_url, "effects"),
                                         approver=staff.second_approver)
    final_states = adjustment_states(ids)
    main_elapsed = time.perf_counter() - started
    main_rows = checks.deliveries_since(0)

    print()
    print(RULE)
    print("MAIN PHASE")
    print(THIN)
    delivery_print(main_stats)
    cpu_print(main_cpu, main_stats)
    if stack.inbox_workers:
        figures_print("inbox workers", {
            "workers": len(stack.inbox_workers),
            "inbox emptied after the last acknowledgement": f"{inbox_seconds:.1f} s",
            "left received": inbox_left,
        })
    figures_print("adjustments", {
        "planned / requested and approved": f"{run.planned} / {len(run.requested)}",
        "credits / debits": "{} / {}".format(*(sum(r.direction == d for r in run.requested)
                                              for d in ("credit", "debit"))),
        "needing two approvers": sum(r.approvals_required == 2 for r in run.requested),
        "approved by two approvers at once": run.double_clicks,
        "debits approved with a balance override": run.overrides,
        "skipped": dict(run.skipped) or 0,
        "request/approve phase": f"{run.elapsed:.1f} s",
        "states after the first settle": dict(states),
        "first settle after the traffic": f"{settle_seconds:.1f} s",
        "of the failed, already applied at Pomelo": (
            f"{len(applied_while_failed)} " + " ".join(f"#{pk}" for pk in applied_while_failed)
        ).strip(),
        "resumed by the sweep (same key) / rounds": f"{len(resume.resumed)} / {resume.rounds}",
        "left as outcome unknown (for an approver)": len(resume.outcome_unknown),
        "closed by the approver (applied / not applied)": "{} / {}".format(
            decided["applied"], decided["not_applied"]),
        "settle after the sweep": f"{resume.settle_seconds:.1f} s",
        "final states": dict(final_states),
        **pomelo_exchange_figures(ids),
        "submit attempts (claims)": _submit_attempts(ids),
    })
    figures_print("stand-in Pomelo (its log)", pomelo_log_figures(stack.pomelo.log_text()))
    figures_print("db_workers (their logs)", worker_log_figures([w.log_text() for w in stack.db_workers]))
    figures_print("task queue", _task_figures())
    figures_print("deliveries recorded (database)", dict(sorted(main_rows.items())))
    _failures_print()
    print(THIN)

    report.check("every delivery sent is recorded (Delivery rows = HTTP requests sent)",
                 [] if sum(main_rows.values()) == main_stats.requests else
                 [f"{sum(main_rows.values())} rows for {main_stats.requests} requests "
                  f"({main_stats.responses} answered)"])
    report.check("no delivery left received (unprocessed)",
                 [f"{main_rows['received']} deliveries still received"] if main_rows.get("received") else [])
    report.check("every notification acknowledged (2xx), none rejected",
                 [f"{len(main_stats.unacknowledged)} never acknowledged"] * bool(main_stats.unacknowledged)
                 + [f"{k} {key}: {s} {text}" for k, key, s, text in main_stats.rejected])
    report.check("every 2xx names a stored delivery of that notification, answered",
                 checks.acks_check(main_stats.acks))
    all_keys = {key for p in plans for key in unique_notifications(p)}
    main_keys = set(unique_notifications(plan))
    report.check("each notification claimed by exactly one delivery",
                 checks.claims_check(main_keys, all_keys))
    report.check("no 5xx answered",
                 [f"{main_stats.server_errors} answers 5xx"] * bool(main_stats.server_errors))
    reward_problems, reward_figures = checks.rewards_check([plan])
    report.check("no reward applied twice; every reward in the state its notifications imply",
                 reward_problems)
    report.check("adjustment workers: no unexpected error, one approval per double click", run.errors)
    effects = pomelo_get(pomelo_url, "effects")
    adjustment_problems, adjustment_figures = checks.adjustments_check(run.requested, effects)
    report.check("every succeeded adjustment applied once at Pomelo and booked once; failed ones nowhere",
                 adjustment_problems)
    report.check("no adjustment failed (refused by Pomelo) after the outage and the sweep",
                 [f"{final_states.get('failed', 0)} failed"] * bool(final_states.get("failed")))
    ledger_problems, ledger_line = ledger_command(env)
    report.check(f"check_ledger clean ({ledger_line})", ledger_problems)
    balance_problems, balance_figures = checks.balances_check(pomelo_get(pomelo_url, "state"), ACCOUNT_TYPES)
    report.check("ledger available = stand-in balance, every member and account type", balance_problems)
    reconciliation = reconciliation_run(concurrency=4)
    report.check(
        f"reconciliation: {reconciliation.members_checked} members, {reconciliation.accounts_drifting} "
        f"drifting, {reconciliation.errors} unreadable (Pomelo unavailable after retries)",
        [f"{reconciliation.accounts_drifting} accounts drifting"] * bool(reconciliation.accounts_drifting),
    )
    print(THIN)
    figures_print("ledger", {**reward_figures, **balance_figures})
    figures_print("adjustments against the stand-in", adjustment_figures)

    # --- crash phase ---
    crash = None
    if len(plans) > 1:
        crash = _crash_phase(args, env, stack, report, stop=stop, plans=plans, pomelo_url=pomelo_url,
                             base_url=base_url, all_keys=all_keys)

    print()
    print(RULE)
    cli.header_print("bench.soak", args, load_start)
    print(f"stack:       gunicorn {args.workers} sync workers, {args.db_workers} db_workers, "
          f"{args.inbox_workers} inbox workers, database {args.database}")
    print(f"code:        {code_version} (at start)")
    print(f"stand-in:    fail_percent {args.fail_percent}, delay_ms {args.delay_ms} on every loyalty call, "
          f"drop_after_apply_next {args.drop_after_apply}, seed {args.seed}")
    print(f"durations:   main phase (setup, traffic, settle) {main_elapsed:.0f} s"
          + (f"; crash phase {crash:.0f} s" if crash is not None else "")
          + f"; total {time.perf_counter() - started:.0f} s")
    from bench.soak_checks import database_figures

    database = database_figures()
    figures_print("postgres (this database)", database)
    report.check("no deadlock detected in the database", [f"{database['deadlocks detected']} deadlocks"]
                 * bool(database["deadlocks detected"]))
    print(RULE)
    tracebacks = stack.gunicorn.log_text().count("Traceback")
    print(f"gunicorn:    {tracebacks} traceback(s) in {stack.gunicorn.log_path}")
    print(f"logs:        {stack.log_dir}")
    failed = [name for name, ok, _ in report.checks if not ok]
    print(f"checks:      {len(report.checks) - len(failed)} of {len(report.checks)} hold")
    for name in failed:
        print(f"  FAILED: {name}")
    print("SOAK PASSED" if report.passed else "SOAK FAILED")
    return 0 if report.passed else 1


def _crash_phase(args, env, stack: Stack, report: Report, *, stop, plans, pomelo_url, base_url,
                 all_keys) -> float:
    from bench import soak_checks as checks

    crash_plan = plans[1]
    started = time.perf_counter()
    print()
    print(RULE)
    print(f"CRASH PHASE: {len(crash_plan.notifications)} deliveries, {args.kills} gunicorn worker(s) "
          f"killed with SIGKILL mid-traffic, {args.inbox_kills} inbox worker(s) killed holding a batch")
    print(THIN)
    pomelo_effects_apply(pomelo_url, crash_plan)
    before = checks.delivery_high_water()
    progress = Progress()
    killer = Killer(master_pid=stack.gunicorn.pid, workers=args.workers, kills=args.kills,
                    progress=progress, stop=stop)
    killer_thread = threading.Thread(target=killer.run, name="killer", daemon=True)
    killer_thread.start()
    inbox_killer = InboxKiller(
        workers=stack.inbox_workers, kills=args.inbox_kills, database=args.database, stop=stop,
        spawn=lambda name: inbox_worker(env, stack.log_dir, name),
    )
    inbox_killer_thread = inbox_killer.start()
    cpu_before = cpu_sample(stack.gunicorn.pid, args.database)
    stats = deliver(
        name="crash phase deliveries", notifications=crash_plan.notifications, base_url=base_url,
        senders=args.senders, progress=progress, stop=stop,
        time_limit=args.time_limit,
    )
    crash_cpu = cpu_sample(stack.gunicorn.pid, args.database) - cpu_before
    killer_thread.join(timeout=60)
    inbox_killer_thread.join(timeout=60)
    # The live inbox workers apply what the killed ones held; without inbox workers, a
    # gunicorn worker killed between storing a delivery and applying it inline leaves it
    # received, and one inbox worker applies it, as in production.
    inbox_left, inbox_seconds = inbox_wait_empty(args.database, timeout=args.settle_timeout)
    if not stack.inbox_workers:
        manage_ok(env, "inbox_worker", "--until-empty")
    rows = checks.deliveries_since(before)
    recorded = sum(rows.values())
    delivery_print(stats)
    cpu_print(crash_cpu, stats)
    figures_print("kills", {
        **{f"worker pid {k.pid}": f"killed at {k.at_fraction:.0%} of the first pass, "
           + (f"replaced in {k.respawn_seconds:.1f} s" if k.respawn_seconds is not None else "not replaced")
           for k in killer.done},
        "killer problems": killer.errors or 0,
        "gunicorn master alive": stack.gunicorn.alive(),
        "workers now": len(children(stack.gunicorn.pid)) if stack.gunicorn.pid else 0,
        "inbox workers killed holding a batch": "; ".join(inbox_killer.done) or 0,
        "inbox emptied after the last acknowledgement": f"{inbox_seconds:.1f} s, {inbox_left} left",
    })
    no_answer = stats.requests - stats.responses
    figures_print("deliveries recorded (database)", {
        **dict(sorted(rows.items())),
        "rows": recorded,
        "requests answered": stats.responses,
        "requests without an answer": no_answer,
        "of those, recorded anyway (committed, answer lost)": recorded - stats.responses,
    })
    _failures_print()
    print(THIN)
    report.check(
        f"crash: {len(killer.done)} of {args.kills} worker kill(s) happened mid-traffic and were replaced",
        killer.errors
        + [f"worker {k.pid} not replaced" for k in killer.done if k.respawn_seconds is None]
        + ([f"only {len(killer.done)} kills"] if len(killer.done) != args.kills else []),
    )
    report.check(
        f"crash: {len(inbox_killer.done)} of {args.inbox_kills} inbox worker(s) killed holding a batch",
        [] if len(inbox_killer.done) == args.inbox_kills else [f"only {len(inbox_killer.done)} kills"],
    )
    report.check("crash: Delivery rows between answered and sent requests",
                 [] if stats.responses <= recorded <= stats.requests else
                 [f"{recorded} rows for {stats.requests} requests, {stats.responses} answered"])
    report.check("crash: every notification acknowledged after Pomelo-style retries, none rejected",
                 [f"{len(stats.unacknowledged)} never acknowledged"] * bool(stats.unacknowledged)
                 + [f"{k} {key}: {s} {text}" for k, key, s, text in stats.rejected])
    report.check("crash: every 2xx names a stored delivery of that notification, answered",
                 checks.acks_check(stats.acks))
    report.check("crash: each notification (both phases) claimed by exactly one delivery",
                 checks.claims_check(all_keys, all_keys))
    report.check("crash: no delivery left received (unprocessed)",
                 [f"{rows['received']} deliveries still received"] if rows.get("received") else [])
    reward_problems, reward_figures = checks.rewards_check(plans)
    report.check("crash: no reward applied twice; every reward in the state its notifications imply",
                 reward_problems)
    ledger_problems, ledger_line = ledger_command(env)
    report.check(f"crash: check_ledger clean ({ledger_line})", ledger_problems)
    balance_problems, balance_figures = checks.balances_check(pomelo_get(pomelo_url, "state"), ACCOUNT_TYPES)
    report.check("crash: ledger available = stand-in balance, every member and account type",
                 balance_problems)
    print(THIN)
    figures_print("ledger after the crash phase", {**reward_figures, **balance_figures})
    return time.perf_counter() - started


def _failures_print() -> None:
    from bench.soak_checks import failed_deliveries

    failures = failed_deliveries()
    if failures:
        figures_print("deliveries answered 500, by recorded error", dict(failures.most_common(8)))


def _code_version() -> str:
    """The commit measured, and the files that differed from it (other work in progress)."""
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True,
                              text=True, timeout=10, check=False).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, timeout=10, check=False).stdout.split("\n")
    except (OSError, subprocess.SubprocessError):
        return "unknown (git unavailable)"
    changed = [line[3:] for line in dirty if line.strip()]
    return f"commit {head or '?'}" + (f", uncommitted changes in {', '.join(changed)}" if changed else "")


def _submit_attempts(ids: list[int]) -> int:
    from django.db.models import Sum

    from rewards.models import Adjustment

    return Adjustment.objects.filter(pk__in=ids).aggregate(n=Sum("submit_attempts"))["n"] or 0


def _task_figures() -> dict[str, int]:
    from django_tasks_db.models import DBTaskResult

    return dict(Counter(DBTaskResult.objects.values_list("status", flat=True)))


if __name__ == "__main__":
    cli.suite_run(main)
