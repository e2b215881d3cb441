from django.core.management.base import BaseCommand

from rewards.services.adjustments import adjustment_expire_overdue


class Command(BaseCommand):
    help = "Expire adjustment requests still pending approval past ADJUSTMENT_EXPIRY_HOURS."

    def handle(self, *args, **options):
        self.stdout.write(f"expired {adjustment_expire_overdue()} adjustment request(s)")
