from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from kernel.errors import BackofficeError
from webhooks.services import delivery_prune_rejected


class Command(BaseCommand):
    help = "Delete rejected webhook deliveries older than the retention period."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=settings.WEBHOOK_REJECTED_RETENTION_DAYS,
            help="Keep rejected deliveries this many days (default: WEBHOOK_REJECTED_RETENTION_DAYS).",
        )

    def handle(self, *args, days: int, **options):
        try:
            deleted = delivery_prune_rejected(older_than_days=days)
        except BackofficeError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"deleted {deleted} rejected deliveries older than {days} days")
