import base64

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from sandbox.guard import sandbox_require_enabled
from sandbox.traffic import traffic_members, traffic_plan, traffic_play


class Command(BaseCommand):
    help = (
        "Play simulated card transactions as Pomelo would: update the stand-in Pomelo's "
        "balances and send signed notifications to the back office's webhooks over HTTP."
    )

    def add_arguments(self, parser):
        parser.add_argument("--backoffice-url", default="http://127.0.0.1:8000")
        parser.add_argument("--pomelo-url", default=None, help="Default: POMELO_BASE_URL.")
        parser.add_argument("--members", type=int, default=40)
        parser.add_argument("--transactions", type=int, default=300)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--duplicates", type=float, default=0.0,
                            help="Share of notifications delivered twice (0-1).")
        parser.add_argument("--shuffle", action="store_true", help="Deliver in random order.")
        parser.add_argument("--concurrency", type=int, default=4)

    def handle(self, *args, **o):
        sandbox_require_enabled(command="simulate_card_traffic")
        if not settings.POMELO_WEBHOOK_KEYS:
            raise CommandError("POMELO_WEBHOOK_KEYS is empty: nothing to sign notifications with.")
        if not 0 <= o["duplicates"] <= 1 or o["members"] < 1 or o["transactions"] < 0:
            raise CommandError("--members ≥ 1, --transactions ≥ 0 and 0 ≤ --duplicates ≤ 1.")
        api_key, secret = next(iter(settings.POMELO_WEBHOOK_KEYS.items()))
        members = traffic_members(count=o["members"], seed=o["seed"])
        plan = traffic_plan(members=members, transactions=o["transactions"], seed=o["seed"],
                            duplicates=o["duplicates"], shuffle=o["shuffle"])
        report = traffic_play(
            plan=plan, backoffice_url=o["backoffice_url"],
            pomelo_url=o["pomelo_url"] or settings.POMELO_BASE_URL,
            api_key=api_key, secret_b64=base64.b64encode(secret).decode(),
            concurrency=o["concurrency"],
        )
        self.stdout.write(
            f"sent {report.sent} notifications: statuses {dict(report.statuses)}, "
            f"outcomes {dict(report.outcomes)}"
        )
        for error in report.errors[:10]:
            self.stderr.write(error)
        if report.errors or any(status >= 500 or status == 0 for status in report.statuses):
            raise CommandError("some notifications were not accepted")
