"""The sandbox's commands run only where SANDBOX_ENABLED says the stand-in Pomelo is in use.

They create demo superusers, sign notifications with the configured webhook keys and change
balances: pointed at a real deployment they would write fake money into it.
"""

from django.conf import settings
from django.core.management.base import CommandError


def sandbox_require_enabled(*, command: str) -> None:
    if not getattr(settings, "SANDBOX_ENABLED", False):
        raise CommandError(
            f"{command} belongs to the stand-in Pomelo and runs only with SANDBOX_ENABLED=true "
            "(make run sets it). Never enable it in a deployment."
        )
