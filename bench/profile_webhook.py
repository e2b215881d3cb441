"""Where a webhook request's time goes: queries, database time and Python time, in process.

Run from the project root:

    .venv/bin/python bench/profile_webhook.py [--repeat 200] [--cprofile 20]

It drops and creates its own database (loyalty_bench_profile), migrates it, then drives the
views through Django's test client (no HTTP, no gunicorn) one request at a time, so every
figure is the server's own cost for one request. For each scenario it prints the queries per
request by statement type, the mean wall time, and how much of it was spent waiting on
PostgreSQL. With --cprofile N it also prints the N most expensive functions (cumulative) of a
run of the generated bench workload.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# As in bench/webhooks.py: bench/ first on sys.path would shadow the app's `webhooks` package.
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)

from bench import webhooks as bench  # noqa: E402


class QueryTimer:
    """A connection.execute_wrapper: counts statements by their first word and times them."""

    def __init__(self) -> None:
        self.kinds: Counter = Counter()
        self.seconds = 0.0

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds += time.perf_counter() - started
            self.kinds[sql.lstrip().split(None, 1)[0].upper()] += 1


def _package(filename: str) -> str:
    """Group a profiled file: a site-packages distribution, a project app, or the stdlib."""
    path = filename.replace("\\", "/")
    if "site-packages/" in path:
        parts = path.split("site-packages/", 1)[1].split("/")
        if parts[0] == "django" and len(parts) > 2:
            return "/".join(parts[:3]) if parts[1] == "db" else "/".join(parts[:2])
        return parts[0]
    root = str(ROOT).replace("\\", "/") + "/"
    if path.startswith(root):
        return "project: " + path[len(root) :].split("/", 1)[0]
    if path.startswith("~") or path.startswith("<"):
        return "builtins (C calls)"
    return "stdlib"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--repeat", type=int, default=200, help="requests per scenario (1..5000)")
    parser.add_argument("--cprofile", type=int, default=25, help="functions to list; 0 skips")
    parser.add_argument("--database", default="loyalty_bench_profile")
    parser.add_argument("--show-sql", action="store_true", help="print the SQL of one request per scenario")
    args = parser.parse_args()
    if not 1 <= args.repeat <= 5000:
        parser.error("--repeat must be 1..5000")
    namespace = bench.arguments(["--database", args.database])
    os.chdir(ROOT)
    env = bench.app_env(namespace)
    env["ALLOWED_HOSTS"] = "127.0.0.1,testserver"
    bench.database_recreate(args.database)
    migrated = bench.manage(env, "migrate", "--noinput")
    if migrated.returncode != 0:
        print(migrated.stdout + migrated.stderr, file=sys.stderr)
        return 2
    os.environ.update(env)

    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.baseline import CREATE_TABLE_SQL
    from sandbox.notification_sender import PATHS, notification_encode, signed_headers

    with connection.cursor() as cursor:
        cursor.execute(CREATE_TABLE_SQL)

    client = Client()

    def post_notice(kind: str, payload: dict) -> int:
        body = notification_encode(payload)
        headers = signed_headers(
            api_key=bench.API_KEY, secret_b64=bench.API_SECRET, endpoint=PATHS[kind], body=body
        )
        response = client.post(PATHS[kind], data=body, content_type="application/json", headers=headers)
        return response.status_code

    def post_baseline(_: int) -> int:
        return client.post(bench.BASELINE_PATH, data=b'{"x":1}', content_type="application/json").status_code

    def notice(i: int, kind: str, *, user: str, tx: str, key: str) -> dict:
        return {
            "event_id": f"evt-{key}-{i}",
            "idempotency_key": f"idem-{key}-{i}",
            "user_id": user,
            "card_id": f"crd-{user}",
            "transaction_id": tx,
            "account_type": "points",
            "amount": "12.34",
        }

    def scenario(name: str, setup: Callable[[int], None] | None, run: Callable[[int], int]) -> None:
        for i in range(args.repeat):
            if setup:
                setup(i)
        timer = QueryTimer()
        codes: Counter = Counter()
        started = time.perf_counter()
        with connection.execute_wrapper(timer):
            for i in range(args.repeat):
                codes[run(i)] += 1
        wall = (time.perf_counter() - started) / args.repeat
        if args.show_sql:
            with CaptureQueriesContext(connection) as captured:
                run(args.repeat)
            print(f"--- SQL of one request: {name}")
            for query in captured.captured_queries:
                print(f"    {query['sql'][:200]}")
        per = {k: n / args.repeat for k, n in timer.kinds.most_common()}
        queries = sum(per.values())
        db = timer.seconds / args.repeat
        print(
            f"{name:46} {queries:5.1f} q  {wall * 1000:6.2f} ms  db {db * 1000:5.2f} ms  "
            f"python {(wall - db) * 1000:5.2f} ms  {dict(codes)}"
        )
        print(f"{'':46} " + ", ".join(f"{k} {n:g}" for k, n in per.items()))

    print(f"per request, mean of {args.repeat}; 'db' is time inside cursor.execute (round trips included)")
    scenario("baseline: one INSERT", None, post_baseline)
    scenario(
        "pending, new member (creates member/card/acct)",
        None,
        lambda i: post_notice("pending", notice(i, "pending", user=f"usr-new-{i}", tx=f"ctx-a-{i}", key="a")),
    )
    scenario(
        "pending, known member, new transaction",
        None,
        lambda i: post_notice("pending", notice(i, "pending", user=f"usr-new-{i}", tx=f"ctx-b-{i}", key="b")),
    )
    scenario(
        "confirmation of a pending reward",
        None,
        lambda i: post_notice(
            "confirmation", notice(i, "confirmation", user=f"usr-new-{i}", tx=f"ctx-b-{i}", key="c")
        ),
    )
    scenario(
        "exact duplicate of a processed confirmation",
        None,
        lambda i: post_notice(
            "confirmation", notice(i, "confirmation", user=f"usr-new-{i}", tx=f"ctx-b-{i}", key="c")
        ),
    )
    scenario(
        "cancellation of a confirmed reward",
        None,
        lambda i: post_notice(
            "cancellation", notice(i, "cancellation", user=f"usr-new-{i}", tx=f"ctx-b-{i}", key="d")
        ),
    )

    if args.cprofile:
        workload = bench.workload_generate(count=2000, members=500, duplicate_share=0.2, seed=7)
        profiler = cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        codes = Counter(post_notice(n.kind, n.payload) for n in workload.sends)
        profiler.disable()
        elapsed = time.perf_counter() - started
        print(
            f"\ncProfile of {len(workload.sends)} bench notifications in process: "
            f"{elapsed / len(workload.sends) * 1000:.2f} ms each (profiler on), {dict(codes)}"
        )
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        stats.sort_stats("cumulative").print_stats(args.cprofile)
        print(out.getvalue())
        out = io.StringIO()
        stats.stream = out
        print("The project's own functions (cumulative):")
        stats.sort_stats("cumulative").print_stats(r"/(webhooks|rewards|accounts|loyalty_backoffice)/", 40)
        print(out.getvalue())
        print("Own time by package (profiler overhead inflates small calls):")
        totals: Counter = Counter()
        for (filename, _, _), (_, _, tottime, _, _) in stats.stats.items():
            totals[_package(filename)] += tottime
        grand = sum(totals.values())
        for package, seconds in totals.most_common(12):
            print(
                f"  {package:28} {seconds / len(workload.sends) * 1000:6.2f} ms/request  "
                f"{seconds / grand:6.1%}"
            )
        out = io.StringIO()
        stats.stream = out
        print("\nWhere the CPU is spent (own time):")
        stats.sort_stats("tottime").print_stats(args.cprofile)
        print(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
