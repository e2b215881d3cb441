from django.core.management.base import BaseCommand

from kernel.roles import ROLES
from staff.roles_sync import roles_sync_all


class Command(BaseCommand):
    help = "Reset each staff role's group to exactly the permissions in kernel/roles.py."

    def add_arguments(self, parser):
        parser.add_argument("--database", default="default")

    def handle(self, *args, database, **options):
        roles_sync_all(using=database)
        self.stdout.write(f"Synced {len(ROLES)} roles: {', '.join(ROLES)}.")
