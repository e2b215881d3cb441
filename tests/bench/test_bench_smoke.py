"""Every benchmark suite runs end to end at a tiny size and prints its figures, so none rots.

The figures themselves are not judged here (no timed assertions in tests): a suite may print
TARGET MISSED (exit 1), but it must not fail to run (exit 2) or fail a correctness check.
"""

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.db import connection

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]


def _suite(module: str, *options: str) -> str:
    """Run `python -m module` against this test run's PostgreSQL server, in databases named
    after this test run's, and return what it printed."""
    url = urlsplit(os.environ.get("DATABASE_URL", ""))
    server = f"postgres://{url.username or 'postgres'}@{url.hostname or '127.0.0.1'}:{url.port or 5432}"
    database = f"{connection.settings_dict['NAME'].removeprefix('test_')}_{module.rsplit('.', 1)[1]}"
    done = subprocess.run(  # noqa: S603 (this interpreter, one of our modules)
        [sys.executable, "-m", module, "--database", database, *options],
        cwd=ROOT, env={**os.environ, "BENCH_POSTGRES_URL": server}, capture_output=True, text=True,
        timeout=600, check=False,
    )
    assert done.returncode in (0, 1), done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def test_intake_prints_both_connection_settings_and_the_ledger_matches():
    out = _suite("bench.intake", "--notifications", "40", "--senders", "4", "--workers", "2",
                 "--rounds", "1", "--warmup", "2", "--members", "10")
    assert "DATABASE_CONN_MAX_AGE=0" in out and "DATABASE_CONN_MAX_AGE=60" in out
    assert out.count("ratio intake/baseline") == 2 and "latency p50/p99" in out
    assert "[ok] balances and rewards equal the expectation" in out
    assert "[ok] every notification stored once, duplicates answered as such" in out
    assert "[ok] check_ledger clean" in out


def test_admin_scale_times_every_page_an_extra_url_and_a_command():
    pages = "list:rewards.ledgerentry,member-page,approval-queue,export-1k,export-all,url:/admin/"
    out = _suite("bench.admin_scale", "--size", "100", "--small-factor", "5", "--runs", "1",
                 "--only", pages, "--url", "/admin/", "--command", "check_ledger")
    assert "check_ledger clean" in out
    for page in ("rewards.LedgerEntry list", "member page + timeline", "approval queue", "/admin/ "):
        assert page in out
    assert "ERROR" not in out and "HTTP " not in out
    assert "export streams:" in out and "manage.py check_ledger:" in out and "exit 0;" in out


def test_soak_passes_every_check_at_a_tiny_size():
    out = _suite("bench.soak", "--notifications", "60", "--senders", "4", "--adjustments", "3",
                 "--crash-notifications", "30", "--kills", "1", "--members", "10", "--workers", "2",
                 "--db-workers", "1", "--fail-percent", "0", "--drop-after-apply", "0", "--delay-ms", "0",
                 # A batch of a few rows is held for milliseconds: a kill at this size is luck.
                 "--inbox-workers", "1", "--inbox-kills", "0")
    assert "SOAK PASSED" in out, out[-3000:]
    assert "first pass" in out and "latency p50 / p99" in out
    assert "inbox emptied after the last acknowledgement" in out


def test_inbox_rates_and_burst_leave_the_ledger_equal_to_the_notifications():
    out = _suite("bench.inbox", "--burst", "200", "--batch-notifications", "100",
                 "--single-notifications", "20", "--inbox-workers", "2", "--kills", "0",
                 "--senders", "4", "--workers", "2", "--members", "10")
    assert "ratio             batch / one-by-one" in out and "lag per notif." in out, out[-3000:]
    assert "[ok] inbox emptied by the workers" in out, out[-3000:]
    assert "[ok] every notification stored once" in out
    assert "[ok] balances and rewards equal the expectation (nothing lost, nothing twice)" in out
    assert "[ok] check_ledger clean" in out


def test_audit_verify_finds_both_chains_sound_on_the_fill():
    out = _suite("bench.audit_verify", "--members", "1000", "--events", "2000", "--adjustments", "1000",
                 "--deliveries", "0", "--snapshots", "10", "--small-factor", "2", "--runs", "1")
    assert "ratios big/baseline:" in out and "peak memory" in out
    assert "exit [0]" in out, out[-3000:]


def test_bulk_csv_validates_and_submits_a_small_file():
    out = _suite("bench.bulk_csv", "--rows", "20", "--submit-rows", "5", "--concurrency", "2")
    assert "validation (preview):" in out and "processing (create+send):" in out, out[-3000:]
    assert "  OK" in out and "5 of 5 keys applied exactly once" in out, out[-3000:]


def test_intake_profile_prints_the_cpu_of_each_kind_of_request():
    out = _suite("bench.intake_profile", "--requests", "20", "--warmup", "5")
    for kind in ("new", "copy", "baseline"):
        assert f"  {kind:<9} " in out and "ratio to baseline" in out, out[-3000:]
