from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from webhooks.inbox import inbox_lag


class Command(BaseCommand):
    help = ("Print the webhook inbox backlog; exit 1 when the oldest delivery waiting is older "
            "than WEBHOOK_INBOX_MAX_LAG_SECONDS (for monitoring).")

    def add_arguments(self, parser):
        parser.add_argument("--max-lag-seconds", type=int, default=settings.WEBHOOK_INBOX_MAX_LAG_SECONDS)

    def handle(self, *args, max_lag_seconds: int, **options):
        lag = inbox_lag()
        age = lag.oldest_age_seconds()
        self.stdout.write(
            f"waiting={lag.waiting} retrying={lag.retrying} failed={lag.failed} "
            f"oldest_age_seconds={age:.0f} max_lag_seconds={max_lag_seconds}"
        )
        if age > max_lag_seconds:
            raise CommandError(
                f"inbox lag {age:.0f} s exceeds {max_lag_seconds} s: is the inbox worker running?",
                returncode=1,
            )
