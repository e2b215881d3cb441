"""Bulk adjustments: validate and submit a 10,000-row CSV against the stand-in Pomelo.

    .venv/bin/python -m bench.bulk_csv [--rows 10000] [--concurrency 4] [--database loyalty_bench_bulk]

1. Drops and creates the PostgreSQL database `--database` (127.0.0.1:5432, user postgres),
   migrates it, and starts the stand-in Pomelo in this process on a free port.
2. Creates `--rows` members, each with one card and 1,000.00 points, in our tables (bulk
   inserts) and at the stand-in; writes a CSV of one row per member (80% credits, 20% debits).
3. Baseline, in the same run: decoding the same bytes and reading them with the csv module
   alone (`list(csv.reader(...))`).
4. Times the bulk steps with their own services, as the pages and the worker call them:
   - validation: read and check every row (what the preview does),
   - confirmation: the same again, plus the batch and its rows written,
   - processing: after one approval, each row made into its own approved adjustment and sent
     to the stand-in, `--concurrency` at a time (BULK_ADJUSTMENT_SUBMIT_CONCURRENCY). The
     batch total is above the second-approval threshold, so two approvers approve it.
   Each with rows per second, and validation's ratio to the baseline.
5. Peak memory: Python allocations (tracemalloc) of a second validation pass and of the
   baseline, and the process's peak resident size after processing.
6. Checks that every row succeeded and that the stand-in applied each idempotency key once;
   exit 1 otherwise.
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import random
import resource
import sys
import time
import tracemalloc
from decimal import Decimal

from bench.lib import cli
from bench.lib.cli import arguments_parse, parser_create
from bench.lib.pg import database_recreate, database_url

CLIENT_ID, CLIENT_SECRET = "bench-client", "bench-secret"


def _arguments() -> argparse.Namespace:
    parser = parser_create(__doc__, database="loyalty_bench_bulk")
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--submit-rows", type=int, default=None,
                        help="process a batch of only the file's first N rows (default: all)")
    return arguments_parse(parser, None, lambda args: [
        (1 <= args.rows <= 10_000, "--rows must be 1..10000 (the batch limit)"),
        (1 <= args.concurrency <= 64, "--concurrency must be 1..64"),
        (args.submit_rows is None or 1 <= args.submit_rows <= args.rows, "--submit-rows must be 1..--rows"),
    ])


def _environment(database: str) -> None:
    os.environ.update({
        "DJANGO_SETTINGS_MODULE": "loyalty_backoffice.settings",
        "DATABASE_URL": database_url(database), "DEBUG": "false", "SANDBOX_ENABLED": "true",
        "SECRET_KEY": "bench-" + "x" * 50, "LOG_LEVEL": "WARNING",
        # Production settings (the start-up guard's): what the batch queues waits in the database;
        # this script runs the batch's processing itself.
        "TASKS_BACKEND": "django_tasks_db.DatabaseBackend",
        "ALLOWED_HOSTS": "127.0.0.1", "CSRF_TRUSTED_ORIGINS": "http://127.0.0.1",
        "POMELO_CLIENT_ID": CLIENT_ID, "POMELO_CLIENT_SECRET": CLIENT_SECRET,
        "POMELO_AUDIENCE": "sandbox", "POMELO_RETRY_BACKOFF_SECONDS": "0.01",
    })


def _members_create(rows: int, sandbox) -> None:
    import requests

    from accounts.models import Card, Member, RewardAccount

    members = Member.objects.bulk_create(
        [Member(pomelo_user_id=f"usr-{n:05d}") for n in range(rows)], batch_size=1000)
    Card.objects.bulk_create(
        [Card(member=m, pomelo_card_id=f"crd-{n:05d}") for n, m in enumerate(members)], batch_size=1000)
    RewardAccount.objects.bulk_create(
        [RewardAccount(member=m, account_type="points", available_balance=Decimal("1000.00"))
         for m in members], batch_size=1000)
    with requests.Session() as session:
        for n in range(rows):
            session.post(f"{sandbox.url}/_sandbox/members", timeout=10, json={
                "user_id": f"usr-{n:05d}", "card_ids": [f"crd-{n:05d}"],
                "balances": {"points": "1000"}}).raise_for_status()


def _csv(rows: int, *, first: int | None = None) -> bytes:
    rng = random.Random(13)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["pomelo_user_id", "card_id", "account_type", "direction", "amount",
                     "reason_code", "reason_text"])
    for n in range(rows if first is None else first):
        debit = rng.random() < 0.2
        writer.writerow([f"usr-{n:05d}", "", "points", "debit" if debit else "credit",
                         f"{rng.randint(1, 50000) / 100:.2f}", "correction" if debit else "goodwill",
                         "Outage compensation, November campaign"])
    return out.getvalue().encode()


def _timed(function):
    started = time.perf_counter()
    result = function()
    return result, time.perf_counter() - started


def _peak_allocated(function) -> int:
    tracemalloc.start()
    try:
        function()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def main() -> int:
    args = _arguments()
    sys.stdout.reconfigure(line_buffering=True)  # progress shows when piped to a file
    _environment(args.database)
    database_recreate(args.database)

    from sandbox.server import serve

    sandbox = serve("127.0.0.1", 0, client_id=CLIENT_ID, client_secret=CLIENT_SECRET)
    sandbox.start()
    os.environ["POMELO_BASE_URL"] = sandbox.url
    os.environ["BULK_ADJUSTMENT_SUBMIT_CONCURRENCY"] = str(args.concurrency)
    try:
        import django

        django.setup()
        from django.contrib.auth.models import Group, User
        from django.core.management import call_command

        from bulk_adjustments.csv_file import csv_rows_read
        from bulk_adjustments.services import bulk_batch_approve, bulk_batch_create, bulk_batch_process
        from bulk_adjustments.validation import preview_build
        from rewards.models import Adjustment

        call_command("migrate", verbosity=0)
        print(f"bulk_csv: {args.rows} rows, concurrency {args.concurrency}, stand-in at {sandbox.url}")
        _, fill_seconds = _timed(lambda: _members_create(args.rows, sandbox))
        print(f"  members created in {fill_seconds:.1f} s")
        agent = User.objects.create_user("bench-agent", is_staff=True)
        agent.groups.add(Group.objects.get(name="Support agent"))
        approvers = []
        for name in ("bench-approver", "bench-approver2"):
            approver = User.objects.create_user(name, is_staff=True)
            approver.groups.add(Group.objects.get(name="Approver"))
            approvers.append(User.objects.get(pk=approver.pk))
        agent = User.objects.get(pk=agent.pk)
        content = _csv(args.rows)
        print(f"  file: {len(content):,} bytes")

        def baseline():
            return list(csv.reader(io.StringIO(content.decode("utf-8-sig"), newline="")))

        def validate():
            return preview_build(file_name="bench.csv", content=content, rows=csv_rows_read(content))

        rows_base, base_seconds = _timed(baseline)
        preview, validate_seconds = _timed(validate)
        assert len(rows_base) == args.rows + 1, "the baseline read every line"
        assert len(preview.valid_rows) == args.rows, preview.invalid_rows[:3]
        base_peak = _peak_allocated(baseline)
        validate_peak = _peak_allocated(validate)
        batch, create_seconds = _timed(lambda: bulk_batch_create(
            maker=agent, file_name="bench.csv", content=content, previewed_digest=preview.digest))
        submit_rows = args.submit_rows or args.rows
        if submit_rows != args.rows:
            # The same rows, fewer of them: a batch of its own (the full one stays pending).
            part = _csv(args.rows, first=submit_rows)
            part_preview = preview_build(file_name="part.csv", content=part, rows=csv_rows_read(part))
            batch = bulk_batch_create(maker=agent, file_name="part.csv", content=part,
                                      previewed_digest=part_preview.digest)
        # Approved without queuing: the immediate backend would run the processing inside
        # approve's commit; it is timed on its own below.
        from django.test import override_settings

        with override_settings(TASKS={"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}):
            for approver in approvers[:batch.approvals_required]:
                bulk_batch_approve(batch_id=batch.pk, approver=approver, comment="bench")
        outcome, process_seconds = _timed(lambda: bulk_batch_process(batch_id=batch.pk))
        peak_rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

        n, m = args.rows, submit_rows
        print(f"  baseline csv.reader:      {base_seconds:8.3f} s  {n / base_seconds:10,.0f} rows/s"
              f"  peak {base_peak / 2**20:6.1f} MiB allocated")
        print(f"  validation (preview):     {validate_seconds:8.3f} s  {n / validate_seconds:10,.0f} rows/s"
              f"  peak {validate_peak / 2**20:6.1f} MiB allocated"
              f"  = {validate_seconds / base_seconds:.1f}x the baseline's time")
        print(f"  confirmation (+ writes):  {create_seconds:8.3f} s  {n / create_seconds:10,.0f} rows/s")
        print(f"  processing (create+send): {process_seconds:8.3f} s  {m / process_seconds:10,.0f} rows/s"
              f"  ({m} rows)"
              f"  = {(process_seconds / m) / (base_seconds / n):.0f}x the baseline's time per row")
        print(f"  process peak resident size: {peak_rss_mib:.0f} MiB")
        print(f"  outcomes: {outcome}")
        keys = list(Adjustment.objects.values_list("idempotency_key", flat=True))
        effects = sandbox.app.effects()
        applied_once = sum(1 for key in keys if effects.get(key, {}).get("count") == 1)
        print(f"  stand-in: {applied_once} of {len(keys)} keys applied exactly once")
        ok = outcome.get("succeeded") == m and applied_once == m == len(keys)
        print("  OK" if ok else "  FAILED: not every row succeeded exactly once")
        return 0 if ok else 1
    finally:
        sandbox.stop()


if __name__ == "__main__":
    cli.suite_run(lambda argv: main())
