"""The admin at production scale: page times and queries on a big database against a 1/100 one.

Run from the project root:

    .venv/bin/python bench/admin_scale.py [--members 100000] [--events 1000000] [--adjustments 50000]

What it does, talking only to PostgreSQL on 127.0.0.1:5432 (user postgres):
  1. drops and creates `loyalty_scale_small`, migrates it and fills it with the seeded
     generator of bench/scale_fill.py at 1/100 of the scale (1,000 members, 10,000 reward
     events, 500 adjustments…): the baseline;
  2. drops and creates `loyalty_scale`, migrates it and fills it by COPY: 100,000 members with
     cards and last four, their reward accounts, 1,000,000 reward events with their ledger
     entries, 50,000 adjustments in every state with approvals and audit entries, 100,000
     webhook deliveries, balance snapshots, reconciliation runs; each fill ends with
     `manage.py check_ledger`, whose answer is printed;
  3. measures the same pages on both databases, in process through Django's test Client
     (bench/scale_measure.py, one child process per database, driven in turns so load from
     elsewhere on the machine weighs on both alike), logged in as a superuser (the approval
     queue as an approver): every admin changelist, a member search by card id and by last
     four, the busiest member's page with its timeline, the approval queue, an adjustment's
     page, the reward events filtered, a few searches for information, and the CSV export of
     ~1,000 and of all adjustments (consumed to the end; peak Python memory by tracemalloc);
  4. prints the table: median ms and queries on both databases, the ratio, and TARGET MET or
     MISSED per page (median < 500 ms, <= 15 queries, <= 2x the 1/100 figure; the export:
     first byte < 500 ms and peak memory flat, i.e. the full export's peak <= 2x the
     ~1,000-row export's).

Exits 0 when every target is met, 1 when one is missed, 2 when the benchmark could not run.
Both databases are left in place; `--reuse` measures them again without refilling (after
migrating them, so a new index migration is applied).
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import time
import types
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# `python bench/admin_scale.py` puts bench/ first on sys.path, where bench/webhooks.py would
# shadow the app's `webhooks` package. Use the project root instead.
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

from bench import webhooks as bench  # noqa: E402
from bench.common import database_name_ok, limits_enforce, sigterm_as_interrupt  # noqa: E402
from bench.scale_fill import Scale, fill  # noqa: E402

MAX_MEDIAN_MS = 500.0
MAX_QUERIES = 15
MAX_RATIO = 2.0
MAX_MEMORY_RATIO = 2.0


def app_env(database: str) -> dict[str, str]:
    env = bench.app_env(types.SimpleNamespace(database=database, conn_max_age=60))
    env["ALLOWED_HOSTS"] = "127.0.0.1,testserver"
    return env


def database_exists(name: str) -> bool:
    with bench.database_connect("postgres") as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def prepare(name: str, scale: Scale, *, reuse: bool) -> dict:
    """Recreate, migrate and fill `name` (or only migrate it with --reuse). Returns the fill's figures."""
    env = app_env(name)
    if reuse and database_exists(name):
        print(f"  reusing {name}: migrating only")
        migrated = bench.manage(env, "migrate", "--noinput")
        if migrated.returncode != 0:
            raise RuntimeError(migrated.stdout + migrated.stderr)
        return {"reused": True}
    print(f"  creating {name} and migrating")
    started = time.perf_counter()
    bench.database_recreate(name)
    migrated = bench.manage(env, "migrate", "--noinput")
    if migrated.returncode != 0:
        raise RuntimeError(migrated.stdout + migrated.stderr)
    migrate_seconds = time.perf_counter() - started
    print(
        f"  filling {name}: {scale.members:,} members, {scale.events:,} reward events, "
        f"{scale.adjustments:,} adjustments, {scale.deliveries:,} deliveries, "
        f"{scale.snapshots:,} snapshots (seed {scale.seed})"
    )
    with bench.database_connect(name) as conn:
        report = fill(conn, scale, log=print)
    with bench.database_connect(name) as conn:
        size = conn.execute("SELECT pg_size_pretty(pg_database_size(current_database()))").fetchone()[0]
    print(
        f"  filled {report.total_rows:,} rows in {report.total_seconds:.1f} s "
        f"(+ {migrate_seconds:.1f} s create and migrate); database size {size}"
    )
    started = time.perf_counter()
    ledger = bench.manage(env, "check_ledger")
    answer = (ledger.stdout + ledger.stderr).strip().splitlines()
    print(
        f"  check_ledger: exit {ledger.returncode} in {time.perf_counter() - started:.1f} s: "
        + (answer[-1] if answer else "(no output)")
    )
    return {
        "rows": report.total_rows,
        "seconds": report.total_seconds,
        "migrate_seconds": migrate_seconds,
        "size": size,
        "check_ledger": ledger.returncode,
        "check_ledger_output": answer[-1] if answer else "",
    }


class MeasureWorker:
    """A bench/scale_measure.py process serving one database, driven line by line."""

    def __init__(self, database: str):
        self.database = database
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.scale_measure"],
            cwd=ROOT, env=app_env(database), stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )
        self.hello = self._read()

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"the measuring process for {self.database} exited ({self.proc.wait()})")
        return json.loads(line)

    def ask(self, command: str, key: str) -> dict:
        self.proc.stdin.write(f"{command} {key}\n")
        self.proc.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.close()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()


def _page_result(page: dict) -> dict:
    return {**page, "status": 0, "times_ms": [], "queries": [], "sql_ms": [], "first_byte_ms": [],
            "bytes": 0, "rows": None, "peak_memory_bytes": None, "error": ""}


def measure(databases: dict[str, str], runs: int, only: str) -> dict[str, dict]:
    """Measure every page on every database, in turns: for each page a warm-up request on each,
    then `runs` timed requests alternating between them (the order flips every run), so load
    from elsewhere on the machine weighs on both alike."""
    workers = {side: MeasureWorker(name) for side, name in databases.items()}
    try:
        results = {side: {"probes": w.hello["probes"], "pages": []} for side, w in workers.items()}
        wanted = {k for k in only.split(",") if k}
        keys = [p["key"] for p in next(iter(workers.values())).hello["pages"]]
        sides = list(workers)
        for key in keys:
            if wanted and key not in wanted:
                continue
            pages = {}
            for side, worker in workers.items():
                page = _page_result(next(p for p in worker.hello["pages"] if p["key"] == key))
                page.update(worker.ask("warm", key))
                pages[side] = page
            for run in range(runs):
                for side in sides if run % 2 == 0 else sides[::-1]:
                    page = pages[side]
                    if page["error"]:
                        continue
                    answer = workers[side].ask("run", key)
                    if answer.get("error"):
                        page["error"] = answer["error"]
                        continue
                    page["times_ms"].append(answer["ms"])
                    page["queries"].append(answer["queries"])
                    page["sql_ms"].append(answer["sql_ms"])
                    if answer["first_byte_ms"] is not None:
                        page["first_byte_ms"].append(answer["first_byte_ms"])
                    page["bytes"], page["rows"] = answer["bytes"], answer["rows"]
            for side, page in pages.items():
                if page["export"] and not page["error"]:
                    page.update(workers[side].ask("memory", key))
                results[side]["pages"].append(page)
            print(
                "    " + "  ".join(
                    f"{side} {_median(p['times_ms']):8.1f} ms {max(p['queries'], default=0):3d} q"
                    for side, p in pages.items()
                ) + f"  {pages[sides[0]]['label']}" + "".join(
                    f"  ERROR ({side}) {p['error']}" for side, p in pages.items() if p["error"]
                ),
                flush=True,
            )
        return results
    finally:
        for worker in workers.values():
            worker.close()


def _median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def _mib(value: int | None) -> str:
    return "—" if value is None else f"{value / 2**20:.1f} MiB"


@dataclass(frozen=True)
class Figures:
    """One page's medians on one database."""

    ms: float
    sql_ms: float
    queries: int
    rows: int | None

    @classmethod
    def of(cls, page: dict | None) -> Figures:
        page = page or {}
        return cls(
            ms=_median(page.get("times_ms", [])),
            sql_ms=_median(page.get("sql_ms", [])),
            queries=max(page.get("queries", []), default=0),
            rows=page.get("rows"),
        )

    def cells(self) -> str:
        rows = "" if self.rows is None else str(self.rows)
        return f"{self.ms:7.1f} {self.sql_ms:7.1f} {self.queries:3d} {rows:>5}"


def _verdict(page: dict, base: dict | None, big: Figures, small: Figures) -> list[str]:
    misses = []
    errors = [page["error"], (base or {}).get("error", "") if base else "no baseline"]
    misses += [error for error in errors if error]
    if not big.ms < MAX_MEDIAN_MS:
        misses.append(f">= {MAX_MEDIAN_MS:.0f} ms")
    if big.queries > MAX_QUERIES:
        misses.append(f"> {MAX_QUERIES} queries")
    ratio = big.ms / small.ms if small.ms > 0 else float("nan")
    if not ratio <= MAX_RATIO:
        note = f"> {MAX_RATIO:g}x"
        if big.rows is not None and small.rows is not None and small.rows < big.rows:
            note += f": lists {big.rows} rows, the baseline {small.rows}"
        misses.append(note)
    return misses


def report(big: dict, small: dict, *, small_factor: int) -> bool:
    """Print the table; True when every target is met."""
    small_pages = {p["key"]: p for p in small["pages"]}
    targets = [p for p in big["pages"] if not p["export"] and not p["extra"]]
    extras = [p for p in big["pages"] if p["extra"]]
    exports = {p["key"]: p for p in big["pages"] if p["export"]}
    columns = f"{'ms':>7} {'sql ms':>7} {'q':>3} {'rows':>5}"
    print(f"{'':<42} {'big database':^24} | {f'1/{small_factor} database':^24} |")
    header = f"{'page':<42} {columns} | {columns} | {'ratio':>5}  verdict"
    print(header)
    print("-" * (len(header) + 20))
    all_met = True

    def line(page: dict, *, judged: bool) -> bool:
        base = small_pages.get(page["key"])
        figures, baseline = Figures.of(page), Figures.of(base)
        ratio = figures.ms / baseline.ms if baseline.ms > 0 else float("nan")
        verdict = ""
        misses = _verdict(page, base, figures, baseline) if judged else []
        if judged:
            verdict = "TARGET MET" if not misses else "MISSED (" + "; ".join(misses) + ")"
        print(f"{page['label'][:42]:<42} {figures.cells()} | {baseline.cells()} | {ratio:5.2f}  {verdict}")
        return not misses

    for page in targets:
        all_met &= line(page, judged=True)
    if extras:
        print("for information, not targets:")
        for page in extras:
            line(page, judged=False)
    print("(ms: median wall time of the request; sql ms: median time in the database; q: queries;"
          " rows: rows listed)")

    print()
    print("CSV export: streamed and consumed to the end; memory: tracemalloc peak of one request")
    print(f"{'export':<36} {'rows':>7} {'MiB':>6} {'first byte':>11} {'total ms':>9} {'queries':>8} "
          f"{'peak memory':>12}")
    shown = [(exports.get("export-1k"), None), (exports.get("export-all"), None),
             (small_pages.get("export-all"), f"(1/{small_factor} database, all)")]
    for page, label in shown:
        if page is None:
            continue
        print(
            f"{(label or page['label'])[:36]:<36} {page['rows'] or 0:7,d} {page['bytes'] / 2**20:6.1f} "
            f"{_median(page['first_byte_ms']):8.1f} ms {_median(page['times_ms']):9.1f} "
            f"{max(page['queries'], default=0):8d} {_mib(page['peak_memory_bytes']):>12}"
        )
    few, every = exports.get("export-1k"), exports.get("export-all")
    errors = [p["error"] for p in (few, every) if p and p["error"]]
    if few is None or every is None or errors or not few["peak_memory_bytes"]:
        print("export streams: MISSED (" + ("; ".join(errors) or "not measured") + ")")
        return False
    memory_ratio = (every["peak_memory_bytes"] or 0) / few["peak_memory_bytes"]
    rows_ratio = (every["rows"] or 0) / max(1, few["rows"] or 0)
    first_byte = _median(every["first_byte_ms"])
    misses = []
    if not memory_ratio <= MAX_MEMORY_RATIO:
        misses.append(f"peak memory x{memory_ratio:.1f} for x{rows_ratio:.0f} rows")
    if not first_byte < MAX_MEDIAN_MS:
        misses.append(f"first byte after {first_byte:.0f} ms")
    verdict = "TARGET MET" if not misses else "MISSED (" + "; ".join(misses) + ")"
    print(
        f"export streams: x{rows_ratio:.0f} rows -> peak memory x{memory_ratio:.2f}, first byte "
        f"{first_byte:.0f} ms  {verdict}"
    )
    return all_met and not misses


def equivalent_command(args: argparse.Namespace) -> str:
    python = os.path.relpath(sys.executable, Path.cwd()) if sys.executable else "python"
    parts = [
        python, "bench/admin_scale.py", "--members", str(args.members), "--events", str(args.events),
        "--adjustments", str(args.adjustments), "--deliveries", str(args.deliveries),
        "--snapshots", str(args.snapshots), "--seed", str(args.seed), "--runs", str(args.runs),
        "--small-factor", str(args.small_factor), "--database", args.database,
        "--small-database", args.small_database,
    ]
    if args.reuse:
        parts.append("--reuse")
    if args.only:
        parts += ["--only", args.only]
    return shlex.join(parts)


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=1_000_000, help="reward events")
    parser.add_argument("--adjustments", type=int, default=50_000)
    parser.add_argument("--deliveries", type=int, default=100_000, help="webhook deliveries")
    parser.add_argument("--snapshots", type=int, default=20_000, help="balance snapshots")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=7, help="timed requests per page and database (median)")
    parser.add_argument("--small-factor", type=int, default=100, help="the baseline database's scale divisor")
    parser.add_argument("--database", default="loyalty_scale")
    parser.add_argument("--small-database", default="loyalty_scale_small")
    parser.add_argument(
        "--reuse", action="store_true", help="measure existing databases again (migrate, no refill)"
    )
    parser.add_argument("--only", default="", help="comma-separated page keys to measure")
    args = parser.parse_args(argv)
    limits = [
        (1_000 <= args.members <= 10_000_000, "--members must be 1000..10000000"),
        (0 <= args.events <= 100_000_000, "--events must be 0..100000000"),
        (1_000 <= args.adjustments <= 10_000_000, "--adjustments must be 1000..10000000"),
        (0 <= args.deliveries <= 100_000_000, "--deliveries must be 0..100000000"),
        (0 <= args.snapshots <= 10_000_000, "--snapshots must be 0..10000000"),
        (5 <= args.runs <= 100, "--runs must be 5..100"),
        (2 <= args.small_factor <= args.members // 10, "--small-factor must be 2..members/10"),
    ]
    for name in (args.database, args.small_database):
        limits.append((database_name_ok(name), "databases: plain names, not CI's or postgres"))
    limits.append((args.database != args.small_database, "--database and --small-database must differ"))
    limits_enforce(parser, limits)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    sigterm_as_interrupt()
    os.chdir(ROOT)
    scale = Scale(
        members=args.members, events=args.events, adjustments=args.adjustments,
        deliveries=args.deliveries, snapshots=args.snapshots, seed=args.seed,
    )
    small_scale = scale.divided(args.small_factor)
    started = time.perf_counter()
    load_before = os.getloadavg()
    try:
        print(f"baseline database (1/{args.small_factor} scale)")
        small_fill = prepare(args.small_database, small_scale, reuse=args.reuse)
        print("big database")
        big_fill = prepare(args.database, scale, reuse=args.reuse)
        print(
            f"measuring both databases in turns ({args.runs} timed requests per page and database, "
            "after a warm-up)"
        )
        measured = measure({"big": args.database, "small": args.small_database}, args.runs, args.only)
        big, small = measured["big"], measured["small"]
    except (RuntimeError, OSError, ValueError) as exc:
        print(f"the benchmark could not run: {exc}", file=sys.stderr)
        return 2
    load_after = os.getloadavg()

    print()
    print("=" * 110)
    print(f"command:     {shlex.join(sys.orig_argv)}")
    print(f"equivalent:  {equivalent_command(args)}")
    print(
        f"machine:     {os.cpu_count()} CPUs, load average {load_before[0]:.2f} before, "
        f"{load_after[0]:.2f} after; run took {time.perf_counter() - started:.0f} s"
    )
    for label, name, filled in (
        ("big", args.database, big_fill), (f"1/{args.small_factor}", args.small_database, small_fill)
    ):
        if filled.get("reused"):
            print(f"{label + ':':<12} {name} reused (filled by an earlier run)")
        else:
            print(
                f"{label + ':':<12} {name}: {filled['rows']:,} rows filled in {filled['seconds']:.0f} s "
                f"(+ {filled['migrate_seconds']:.0f} s create and migrate), {filled['size']}; "
                f"check_ledger exit {filled['check_ledger']}: {filled['check_ledger_output']}"
            )
    print(
        f"probes:      {json.dumps(big['probes'])}\n"
        f"targets:     median < {MAX_MEDIAN_MS:.0f} ms, <= {MAX_QUERIES} queries, <= {MAX_RATIO:g}x the "
        f"1/{args.small_factor} median; export: first byte < {MAX_MEDIAN_MS:.0f} ms, peak memory of "
        f"the full export <= {MAX_MEMORY_RATIO:g}x the ~1,000-row one"
    )
    print("-" * 110)
    met = report(big, small, small_factor=args.small_factor)
    ledgers_clean = all(f.get("check_ledger", 0) == 0 for f in (big_fill, small_fill))
    if not ledgers_clean:
        print("check_ledger: MISSED (the fill is not consistent)")
    met &= ledgers_clean
    print("-" * 110)
    print("TARGET MET" if met else "TARGET MISSED")
    return 0 if met else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        sys.exit(130)
