"""`manage.py verify_audit` on the admin_scale data set: speed and peak memory, against 1/100.

Run from the project root:

    .venv/bin/python -m bench.audit_verify [--members 100000] [--events 1000000] [--adjustments 50000]

What it does, talking only to PostgreSQL on 127.0.0.1:5432 (user postgres):
  1. drops and creates `loyalty_chain_small` and `loyalty_chain`, migrates them and fills them
     with bench/scale_fill.py's generator (the data set of `bench.admin_scale`, without its
     webhook deliveries and reconciliation runs, which hold no chained rows: the big one at
     the given scale, the baseline at 1/100). The fill writes rows by COPY, without hashes, so
     each is then chained by the code of the migration that chained existing rows (rewards
     0014), in a child process;
  2. runs `manage.py verify_audit` on each, `--runs` times in turns, each in its own process,
     and reads the process's peak resident memory from the kernel (wait4's ru_maxrss);
  3. prints entries checked, seconds, entries per second and peak memory per database, and the
     ratios big / baseline. Memory is flat when the big database's peak is within 1.5x of the
     baseline's although it holds 100x the entries (TARGET MET, exit 0; else exit 1).

Exits 2 when the benchmark could not run. `--reuse` measures existing databases again.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from bench.lib import cli
from bench.lib.pg import database_connect, database_name_ok, database_recreate
from bench.lib.processes import ROOT, app_env, manage
from bench.scale_fill import FillReport, Scale, _Generator, _Timer  # its neighbour's steps

MAX_MEMORY_RATIO = 1.5
CHAIN_SCRIPT = """
import importlib, time
import django
django.setup()
from django.apps import apps
from django.db import connection
migration = importlib.import_module("rewards.migrations.0014_chain_existing_entries")
started = time.perf_counter()
with connection.schema_editor() as editor:
    migration.chain_existing(apps, editor)
print(f"chained in {time.perf_counter() - started:.1f} s")
"""
_CHECKED = re.compile(
    r"checked (\d+) audit entries, (\d+) ledger entries in (\d+) accounts, (\d+) anchors "
    r"in ([\d.]+) s"
)


def chain_tables_fill(conn, scale: Scale) -> tuple[int, float]:
    """scale_fill's data set, the steps that write audit and ledger entries (and what they
    need); reconciliation runs and webhook deliveries hold no chained rows, so are left out."""
    report = FillReport()
    timer = _Timer(report, lambda line: None)
    gen = _Generator(conn, scale, datetime.now(UTC).replace(microsecond=0))
    for step in ("staff", "members", "events", "adjustments", "snapshots", "balances",
                 "sequences"):
        timer.step(step, getattr(gen, step))
    conn.execute("VACUUM (ANALYZE)")
    return report.total_rows, report.total_seconds


def prepare(name: str, scale: Scale, *, reuse: bool) -> None:
    env = app_env(name)
    if reuse:
        migrated = manage(env, "migrate", "--noinput")
        if migrated.returncode != 0:
            raise RuntimeError(migrated.stdout + migrated.stderr)
        print(f"  reusing {name}")
        return
    print(f"  creating {name}, migrating, filling {scale}")
    database_recreate(name)
    migrated = manage(env, "migrate", "--noinput")
    if migrated.returncode != 0:
        raise RuntimeError(migrated.stdout + migrated.stderr)
    with database_connect(name) as conn:
        rows, seconds = chain_tables_fill(conn, scale)
    print(f"  filled {rows:,} rows in {seconds:.1f} s; chaining them")
    chained = subprocess.run(
        [sys.executable, "-c", CHAIN_SCRIPT], cwd=ROOT, env=env, capture_output=True, text=True,
        check=False,
    )
    if chained.returncode != 0:
        raise RuntimeError(chained.stdout + chained.stderr)
    print(f"  {chained.stdout.strip()}")


def measured_run(name: str) -> dict:
    """Run verify_audit under a wrapper that reports the child's own ru_maxrss."""
    wrapper = (
        "import os, resource, subprocess, sys\n"
        "p = subprocess.run([sys.executable, 'manage.py', 'verify_audit'], capture_output=True,"
        " text=True)\n"
        "sys.stdout.write(p.stdout); sys.stderr.write(p.stderr)\n"
        "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss\n"
        "print(f'PEAK_KB {peak}')\n"
        "sys.exit(p.returncode)\n"
    )
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", wrapper], cwd=ROOT, env=app_env(name), capture_output=True,
        text=True, check=False,
    )
    wall = time.perf_counter() - started
    match = _CHECKED.search(result.stdout)
    peak = re.search(r"PEAK_KB (\d+)", result.stdout)
    if result.returncode not in (0, 1) or match is None or peak is None:
        raise RuntimeError(f"verify_audit on {name} failed: {result.stdout}{result.stderr}")
    audit, ledger, accounts, anchors, seconds = match.groups()
    return {
        "code": result.returncode, "audit": int(audit), "ledger": int(ledger),
        "accounts": int(accounts), "anchors": int(anchors), "seconds": float(seconds),
        "wall": wall, "peak_mb": int(peak.group(1)) / 1024,
    }


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000, help="reward events")
    parser.add_argument("--adjustments", type=int, default=50_000)
    parser.add_argument("--deliveries", type=int, default=100_000, help="webhook deliveries")
    parser.add_argument("--snapshots", type=int, default=20_000, help="balance snapshots")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=3, help="verify_audit runs per database")
    parser.add_argument("--small-factor", type=int, default=100)
    parser.add_argument("--database", default="loyalty_chain")
    parser.add_argument("--small-database", default="", help="default: --database + _small")
    parser.add_argument("--reuse", action="store_true", help="measure existing databases again")
    args = parser.parse_args(argv)
    args.small_database = args.small_database or f"{args.database}_small"
    limits = [
        (1_000 <= args.members <= 10_000_000, "--members must be 1000..10000000"),
        (0 <= args.events <= 100_000_000, "--events must be 0..100000000"),
        (1_000 <= args.adjustments <= 10_000_000, "--adjustments must be 1000..10000000"),
        (1 <= args.runs <= 20, "--runs must be 1..20"),
        (2 <= args.small_factor <= args.members // 10, "--small-factor must be 2..members/10"),
        (args.database != args.small_database, "--database and --small-database must differ"),
    ]
    for name in (args.database, args.small_database):
        limits.append((database_name_ok(name), "databases: plain names, not CI's or postgres"))
    for ok, message in limits:
        if not ok:
            parser.error(message)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    load_before = os.getloadavg()[0]
    os.chdir(ROOT)
    scale = Scale(members=args.members, events=args.events, adjustments=args.adjustments,
                  deliveries=args.deliveries, snapshots=args.snapshots, seed=args.seed)
    databases = {"big": args.database, "small": args.small_database}
    try:
        print(f"baseline database (1/{args.small_factor} scale)")
        prepare(args.small_database, scale.divided(args.small_factor), reuse=args.reuse)
        print("big database")
        prepare(args.database, scale, reuse=args.reuse)
        runs: dict[str, list[dict]] = {"big": [], "small": []}
        for _ in range(args.runs):  # in turns, so load from elsewhere weighs on both alike
            for key, name in databases.items():
                runs[key].append(measured_run(name))
    except (RuntimeError, OSError, ValueError) as exc:
        print(f"the benchmark could not run: {exc}", file=sys.stderr)
        return 2

    print()
    cli.header_print("bench.audit_verify", args, load_before)
    summary = {}
    for key in ("small", "big"):
        first = runs[key][0]
        seconds = statistics.median(r["seconds"] for r in runs[key])
        peak = max(r["peak_mb"] for r in runs[key])
        entries = first["audit"] + first["ledger"]
        summary[key] = {"seconds": seconds, "peak": peak, "entries": entries}
        print(
            f"{key:>5} {databases[key]}: {first['audit']:,} audit + {first['ledger']:,} ledger "
            f"entries in {first['accounts']:,} accounts; median {seconds:.2f} s "
            f"({entries / seconds:,.0f} entries/s), peak RSS {peak:.0f} MB, exit "
            f"{sorted({r['code'] for r in runs[key]})}"
        )
    entries_ratio = summary["big"]["entries"] / max(summary["small"]["entries"], 1)
    time_ratio = summary["big"]["seconds"] / max(summary["small"]["seconds"], 1e-9)
    memory_ratio = summary["big"]["peak"] / summary["small"]["peak"]
    print(f"ratios big/baseline: entries {entries_ratio:.1f}x, time {time_ratio:.1f}x, "
          f"peak memory {memory_ratio:.2f}x")
    sound = all(r["code"] == 0 for key in runs for r in runs[key])
    met = memory_ratio <= MAX_MEMORY_RATIO and sound
    print(f"{'TARGET MET' if met else 'TARGET MISSED'}: peak memory within "
          f"{MAX_MEMORY_RATIO}x of the baseline's, every run sound")
    return 0 if met else 1


if __name__ == "__main__":
    cli.suite_run(main)
