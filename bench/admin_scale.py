"""The admin at production scale: page times and queries on a big database against a small copy.

    .venv/bin/python -m bench.admin_scale [--size 100000] [--url /admin/some/page/] [--command verify_audit]

Fills two databases with the seeded generator of bench.scale_fill by COPY: `--database` at
`--size` members (10 reward events, half an adjustment, one delivery and a fifth of a balance
snapshot per member) and `--database`_small at 1/`--small-factor` of that; `check_ledger` runs
after each fill. Then measures every admin list, the pages the targets name and any `--url`, in
process through Django's test client, one child process per database driven in turns (so load
from elsewhere on the machine weighs on both alike), median of `--runs`; and times each
`--command` (a manage.py command) on both, with its peak memory. Prints ms, database ms,
queries and rows per page on both, the ratio, and MET/MISSED against the targets: under 500 ms,
at most 15 queries, at most 2x the small copy; the export's first byte under 500 ms and its peak
memory flat (the full export's at most 2x the ~1,000-row one's). `--reuse` measures existing
databases again (migrated, not refilled).
"""

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Sequence

from bench.lib import cli
from bench.lib.pg import database_connect, database_drop, database_exists, database_recreate
from bench.lib.processes import ROOT, app_env, manage, manage_ok
from bench.scale_fill import Scale, fill

MAX_MS, MAX_QUERIES, MAX_RATIO, MAX_MEMORY_RATIO = 500.0, 15, 2.0, 2.0


def prepare(name: str, scale: Scale, *, reuse: bool, template: str) -> str:
    """Copy the empty migrated `template` to `name` and fill it; with `reuse`, only migrate it."""
    env = app_env(name)
    if reuse:
        manage_ok(env, "migrate", "--noinput")
        return f"{name}: reused (migrated, not refilled)"
    started = time.perf_counter()
    database_recreate(name, template=template)
    print(f"  filling {name}: {scale}")
    with database_connect(name) as conn:
        report = fill(conn, scale, log=lambda line: print("   ", line))
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    ledger = manage(env, "check_ledger")
    if ledger.returncode != 0:
        raise RuntimeError(f"check_ledger on {name} after the fill: {ledger.stdout}{ledger.stderr}")
    return (f"{name}: {report.total_rows:,} rows in {time.perf_counter() - started:.0f} s, {size}, "
            f"check_ledger clean")


class Measurer:
    """A bench.scale_measure process serving one database, one JSON line each way."""

    def __init__(self, database: str, urls: list[str]):
        env = app_env(database, BENCH_EXTRA_URLS=json.dumps(urls))
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.scale_measure"], cwd=ROOT, env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.hello = self._read()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the measuring process exited ({self.proc.wait()})")
        return json.loads(line)

    def ask(self, command: str, key: str) -> dict:
        self.proc.stdin.write(f"{command} {key}\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        try:
            self.proc.stdin.write("quit\n")
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()
            self.proc.wait()


def measure(databases: dict[str, str], *, runs: int, only: set[str], urls: list[str]) -> list[dict]:
    """Per page, a warm-up on each database, then `runs` timed requests alternating between them
    (the order flips every run). One dict per page: {"page": …, "big": [answers], "small": [...]}."""
    measurers = {side: Measurer(name, urls) for side, name in databases.items()}
    try:
        print(f"  probes: {json.dumps(measurers['big'].hello['probes'], default=str)}")
        results = []
        for page in measurers["big"].hello["pages"]:
            if only and page["key"] not in only:
                continue
            result = {"page": page, "big": [], "small": [], "error": ""}
            for measurer in measurers.values():
                result["error"] = result["error"] or measurer.ask("warm", page["key"]).get("error", "")
            for run in range(runs if not result["error"] else 0):
                for side in ("big", "small") if run % 2 == 0 else ("small", "big"):
                    result[side].append(measurers[side].ask("run", page["key"]))
            if page["export"] and not result["error"]:
                for side, measurer in measurers.items():
                    result[f"{side}_memory"] = measurer.ask("memory", page["key"]).get("peak_memory")
            results.append(result)
        return results
    finally:
        for measurer in measurers.values():
            measurer.close()


def figures(answers: list[dict], name: str) -> float:
    return cli.median([a[name] for a in answers if a.get(name) is not None])


def page_line(result: dict) -> bool:
    """Print one page's figures on both databases; True when its targets are met."""
    page, big, small = result["page"], result["big"], result["small"]
    ms, small_ms = figures(big, "ms"), figures(small, "ms")
    queries = max((a.get("queries", 0) for a in big), default=0)
    errors = [result["error"], *(a["error"] for a in big + small if a.get("error"))]
    misses = errors[:1] if any(errors) else []
    if page["judged"] and not misses:
        misses += [f">= {MAX_MS:.0f} ms"] * (not ms < MAX_MS)
        misses += [f"> {MAX_QUERIES} queries"] * (queries > MAX_QUERIES)
        if not cli.ratio(ms, small_ms) <= MAX_RATIO:
            rows = (big[-1].get("rows"), small[-1].get("rows"))
            misses.append(f"> {MAX_RATIO:g}x" + (f": lists {rows[0]} rows, the small copy {rows[1]}"
                                                  if None not in rows and rows[0] != rows[1] else ""))
    verdict = ("MET" if not misses else "MISSED (" + "; ".join(misses) + ")") if page["judged"] else "(info)"
    print(f"{page['label'][:44]:<44} {ms:8.1f} {figures(big, 'sql_ms'):7.1f} {queries:3d} "
          f"{small_ms:8.1f} {cli.ratio(ms, small_ms):6.2f}  {verdict}")
    return not misses


def export_line(results: list[dict]) -> bool:
    """The export streams: first byte of the full export, and its peak memory against ~1,000 rows."""
    exports = {r["page"]["key"]: r for r in results if r["page"]["export"]}
    few, every = exports.get("export-1k"), exports.get("export-all")
    if not (few and every and few.get("big_memory") and every.get("big_memory")):
        print("export streams: not measured")
        return not exports
    memory = every["big_memory"] / few["big_memory"]
    first_byte = figures(every["big"], "first_byte_ms")
    met = memory <= MAX_MEMORY_RATIO and first_byte < MAX_MS
    print(f"export streams: {every['big'][-1]['rows']:,} rows, first byte {first_byte:.0f} ms, peak memory "
          f"{every['big_memory'] / 2**20:.1f} MiB vs {few['big_memory'] / 2**20:.1f} MiB for "
          f"{few['big'][-1]['rows']:,} rows (x{memory:.2f})  {'MET' if met else 'MISSED'}")
    return met


def command_time(database: str, command: str) -> tuple[float, float, int]:
    """Wall seconds and peak resident memory (MiB) of one manage.py command, and its exit code."""
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "manage.py", *command.split()], cwd=ROOT, env=app_env(database),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, proc.returncode


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = cli.parser_create(__doc__, database="loyalty_scale")
    add = parser.add_argument
    add("--size", type=int, default=100_000, help="members in the big database (the rest scales with it)")
    add("--small-factor", type=int, default=100, help="the small copy's size divisor")
    add("--runs", type=int, default=7, help="timed requests per page and database (median)")
    add("--url", action="append", default=[], help="another admin URL to time (repeatable)")
    add("--command", action="append", default=[], help="a manage.py command to time (repeatable)")
    add("--only", default="", help="comma-separated page keys to measure")
    add("--reuse", action="store_true", help="measure existing databases again (migrate, no refill)")
    return cli.arguments_parse(parser, argv, lambda a: [
        (100 <= a.size <= 10_000_000, "--size must be 100..10000000"),
        (2 <= a.small_factor <= a.size // 10, "--small-factor must be 2..size/10"),
        (1 <= a.runs <= 100, "--runs must be 1..100"),
        (all(u.startswith("/") for u in a.url), "--url: a path starting with /"),
    ])


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    load_before = os.getloadavg()[0]
    size = args.size
    scale = Scale(members=size, events=size * 10, adjustments=size // 2, deliveries=size,
                  snapshots=size // 5, seed=args.seed)
    databases = {"big": args.database, "small": args.database + "_small"}
    reuse = args.reuse and all(database_exists(name) for name in databases.values())
    empty = args.database + "_empty"  # migrated once, copied for both
    if not reuse:
        database_recreate(empty)
        manage_ok(app_env(empty), "migrate", "--noinput")
    filled = [prepare(databases["small"], scale.divided(args.small_factor), reuse=reuse, template=empty),
              prepare(databases["big"], scale, reuse=reuse, template=empty)]
    if not reuse:
        database_drop(empty)
    print(f"measuring both databases in turns, {args.runs} timed requests per page and database")
    results = measure(databases, runs=args.runs, only={k for k in args.only.split(",") if k}, urls=args.url)
    commands = {c: [command_time(name, c) for name in databases.values()] for c in args.command}

    cli.header_print("bench.admin_scale", args, load_before, width=110)
    print("\n".join(filled))
    print(f"targets: < {MAX_MS:.0f} ms, <= {MAX_QUERIES} queries, "
          f"<= {MAX_RATIO:g}x the 1/{args.small_factor} copy")
    print(f"{'page':<44} {'ms':>8} {'sql ms':>7} {'q':>3} {'small ms':>8} {'ratio':>6}  verdict")
    met = all([page_line(r) for r in results if not r["page"]["export"]])
    for r in results:
        if r["page"]["export"]:
            page_line({**r, "page": {**r["page"], "judged": False}})
    met &= export_line(results)
    for command, ((big_s, big_mib, big_rc), (small_s, small_mib, small_rc)) in commands.items():
        print(f"manage.py {command}: {big_s:.2f} s, peak {big_mib:.0f} MiB, exit {big_rc}; small copy "
              f"{small_s:.2f} s, {small_mib:.0f} MiB, exit {small_rc}")
        met &= big_rc == 0 and small_rc == 0
    print("TARGET MET" if met else "TARGET MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    cli.suite_run(main)
