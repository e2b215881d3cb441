import gzip
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from webhooks.services import delivery_bodies_prune


class Command(BaseCommand):
    help = ("Empty the bodies of applied and duplicate webhook deliveries older than the "
            "retention, optionally writing them to a gzipped JSON-lines archive first.")

    def add_arguments(self, parser):
        parser.add_argument("--days", type=int, default=settings.WEBHOOK_BODY_RETENTION_DAYS,
                            help="Keep bodies this many days (default: WEBHOOK_BODY_RETENTION_DAYS).")
        parser.add_argument("--archive", type=Path, default=None,
                            help="Write each body to this new .jsonl.gz file before emptying it.")

    def handle(self, *args, days: int, archive: Path | None, **options):
        if archive is not None and archive.exists():
            raise CommandError(f"{archive} exists: archives are never overwritten")
        try:
            if archive is None:
                pruned = delivery_bodies_prune(older_than_days=days)
            else:
                with gzip.open(archive, "xb") as file:
                    pruned = delivery_bodies_prune(older_than_days=days, archive=file)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        where = f", archived to {archive}" if archive else ""
        self.stdout.write(f"emptied {pruned} delivery bodies older than {days} days{where}")
