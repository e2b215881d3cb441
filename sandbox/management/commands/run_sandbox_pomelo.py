"""Serve the stand-in Pomelo (sandbox/pomelo_server.py) until interrupted.

For demos and development only: its /_sandbox/ control endpoints need no credentials.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from sandbox.guard import sandbox_require_enabled
from sandbox.http_errors import SandboxHTTPError
from sandbox.pomelo_server import DEFAULT_TOKEN_LIFETIME_SECONDS
from sandbox.server import serve


class Command(BaseCommand):
    help = (
        "Serve a stand-in for Pomelo's Loyalty API (OAuth, balance, mint, burn) with control "
        "endpoints under /_sandbox/. Never run it in production."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8765, help="0 picks a free port.")
        parser.add_argument(
            "--client-id",
            default=None,
            help="Defaults to POMELO_CLIENT_ID, or sandbox-client when that is empty.",
        )
        parser.add_argument(
            "--client-secret",
            default=None,
            help="Defaults to POMELO_CLIENT_SECRET, or sandbox-secret when that is empty.",
        )
        parser.add_argument("--token-lifetime", type=int, default=DEFAULT_TOKEN_LIFETIME_SECONDS)
        parser.add_argument(
            "--account-types",
            default=None,
            help="Comma-separated; defaults to POMELO_ACCOUNT_TYPES.",
        )
        parser.add_argument(
            "--state-file", default=None,
            help="Keep members, balances and idempotency records in this JSON file across restarts.",
        )
        parser.add_argument(
            "--key-memory-seconds", type=float, default=None,
            help="Forget an idempotency key this long after its first use (default: never), as "
                 "Pomelo may; a re-send after that applies again.",
        )
        faults = parser.add_argument_group("faults applied to the loyalty API from startup")
        faults.add_argument("--fail-next", type=int, default=0)
        faults.add_argument("--fail-status", type=int, default=500)
        faults.add_argument("--drop-next", type=int, default=0)
        faults.add_argument("--drop-after-apply-next", type=int, default=0)
        faults.add_argument("--delay-ms", type=int, default=0)
        faults.add_argument("--fail-percent", type=float, default=0.0)
        faults.add_argument("--seed", type=int, default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        sandbox_require_enabled(command="run_sandbox_pomelo")
        client_id = options["client_id"] or settings.POMELO_CLIENT_ID or "sandbox-client"
        client_secret = options["client_secret"] or settings.POMELO_CLIENT_SECRET or "sandbox-secret"
        if options["account_types"]:
            account_types = [t.strip() for t in options["account_types"].split(",") if t.strip()]
        else:
            account_types = list(settings.POMELO_ACCOUNT_TYPES)
        faults = {
            "fail_next": options["fail_next"],
            "fail_status": options["fail_status"],
            "drop_next": options["drop_next"],
            "drop_after_apply_next": options["drop_after_apply_next"],
            "delay_ms": options["delay_ms"],
            "fail_percent": options["fail_percent"],
            "seed": options["seed"],
        }
        try:
            server = serve(
                options["host"],
                options["port"],
                client_id=client_id,
                client_secret=client_secret,
                account_types=account_types,
                token_lifetime_seconds=options["token_lifetime"],
                faults=faults,
                state_path=Path(options["state_file"]) if options["state_file"] else None,
                key_memory_seconds=options["key_memory_seconds"],
            )
        except OSError as exc:
            raise CommandError(f"Cannot listen on {options['host']}:{options['port']}: {exc}") from exc
        except SandboxHTTPError as exc:  # invalid fault options
            raise CommandError(exc.message) from exc

        if not _is_loopback(options["host"]):
            self.stderr.write(
                self.style.WARNING(
                    "The stand-in's /_sandbox/ endpoints need no credentials: anyone who can "
                    f"reach {options['host']} can change balances. Never expose it."
                )
            )
        self.stdout.write(f"Stand-in Pomelo listening on {server.url} (client id {client_id})")
        self.stdout.flush()
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
