"""Where an intake request's CPU goes: the webhook view against the one-INSERT baseline, in process.

    .venv/bin/python -m bench.intake_profile [--requests 2000] [--profile new|copy|baseline]

Drives Django's WSGI handler directly (no HTTP server, no client on the CPUs) with the same
middleware, settings and PostgreSQL database as `bench.intake`: signed new notifications, exact
copies of them, and bodies for the baseline view. Prints the process CPU per request of each and
the ratios to the baseline; `--profile KIND` also prints the 40 costliest functions of that kind
(cProfile, cumulative). No target is judged: this explains the figures of `bench.intake`.
"""

import argparse
import cProfile
import io
import os
import pstats
import time
import uuid
from collections.abc import Callable, Sequence

from bench.intake import BASELINE_PATH, BASELINE_TABLE_SQL
from bench.lib import cli
from bench.lib.pg import database_connect
from bench.lib.processes import ACCOUNT_TYPES, API_KEY, API_SECRET, HOST, app_env, database_migrated

Environ = dict


def _environ(path: str, body: bytes, headers: dict[str, str]) -> Environ:
    environ = {
        "REQUEST_METHOD": "POST", "PATH_INFO": path, "QUERY_STRING": "", "SERVER_NAME": HOST,
        "SERVER_PORT": "80", "HTTP_HOST": HOST, "REMOTE_ADDR": HOST, "SERVER_PROTOCOL": "HTTP/1.1",
        "wsgi.input": io.BytesIO(body), "wsgi.url_scheme": "http",
        "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": "application/json",
    }
    for name, value in headers.items():
        if name.lower() != "content-type":
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    return environ


def _cpu_per_request(app: Callable, environs: Sequence[Environ], profile: bool) -> float:
    """Process CPU ms per request; prints the profile when asked."""
    def start_response(status, headers, exc_info=None):
        if not status.startswith("200"):
            raise RuntimeError(f"answered {status}")

    profiler = cProfile.Profile() if profile else None
    started = time.process_time()
    if profiler:
        profiler.enable()
    for environ in environs:
        b"".join(app(environ, start_response))
    if profiler:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
    return (time.process_time() - started) / len(environs) * 1000


def arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = cli.parser_create(__doc__, database="loyalty_bench_profile")
    parser.add_argument("--requests", type=int, default=2000, help="timed requests of each kind")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--profile", choices=["new", "copy", "baseline"], default=None)
    return cli.arguments_parse(parser, argv, lambda a: [
        (1 <= a.requests <= 100_000, "--requests must be 1..100000"),
        (0 <= a.warmup <= 10_000, "--warmup must be 0..10000"),
    ])


def main(argv: Sequence[str] | None = None) -> int:
    args = arguments(argv)
    load_before = os.getloadavg()[0]
    env = app_env(args.database, DATABASE_CONN_MAX_AGE="600", WEBHOOK_APPLY_INLINE="false")
    database_migrated(args.database, env)
    with database_connect(args.database) as conn:
        conn.execute(BASELINE_TABLE_SQL)
    os.environ.update(env)
    import django

    django.setup()
    from django.core.handlers.wsgi import WSGIHandler

    from sandbox.notification_sender import PATHS, notification_encode, signed_headers

    app = WSGIHandler()
    run = uuid.uuid4().hex[:8]

    def notification(i: int) -> Environ:
        body = notification_encode({
            "event_id": "loyalty_pending", "idempotency_key": f"{run}-{i}",
            "user_id": f"usr-{i % 50}", "card_id": f"crd-{i % 50}", "transaction_id": f"ctx-{run}-{i}",
            "account_type": ACCOUNT_TYPES[0], "amount": "12.34",
        })
        endpoint = PATHS["pending"]
        return _environ(endpoint, body, signed_headers(api_key=API_KEY, secret_b64=API_SECRET,
                                                       endpoint=endpoint, body=body))

    def baseline(i: int) -> Environ:
        return _environ(BASELINE_PATH, b'{"n": %d}' % i, {})

    total = args.warmup + args.requests
    _cpu_per_request(app, [notification(i) for i in range(args.warmup)]
                     + [baseline(i) for i in range(args.warmup)], profile=False)
    figures = {
        "new": _cpu_per_request(app, [notification(i) for i in range(args.warmup, total)],
                                profile=args.profile == "new"),
        # The same notifications again: every one is now a copy of a stored delivery.
        "copy": _cpu_per_request(app, [notification(i) for i in range(args.warmup, total)],
                                 profile=args.profile == "copy"),
        "baseline": _cpu_per_request(app, [baseline(i) for i in range(args.warmup, total)],
                                     profile=args.profile == "baseline"),
    }
    cli.header_print("bench.intake_profile", args, load_before)
    for kind, ms in figures.items():
        print(f"  {kind:<9} {ms:6.3f} ms CPU per request   ratio to baseline "
              f"{cli.ratio(ms, figures['baseline']):.2f}")
    return 0


if __name__ == "__main__":
    cli.suite_run(main)
