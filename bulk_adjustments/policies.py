"""Pure rules of a bulk batch, built on the single adjustment's."""

from datetime import datetime, timedelta
from decimal import Decimal

from django.conf import settings

from rewards.policies import approvals_required_for


def batch_approvals_required(*, totals: dict[str, dict[str, dict]]) -> int:
    """The single-adjustment threshold, applied to the batch's total per account type: credits
    and debits added up, since both move money an approver vouches for. The highest need of any
    account type is the batch's."""
    needed = 1
    for account_type, by_direction in totals.items():
        total = sum((Decimal(entry["amount"]) for entry in by_direction.values()), Decimal("0"))
        needed = max(needed, approvals_required_for(account_type=account_type, amount=total))
    return needed


def batch_expires_at(*, created_at: datetime) -> datetime:
    """A batch waits for approval as long as a single request does."""
    return created_at + timedelta(hours=settings.ADJUSTMENT_EXPIRY_HOURS)
