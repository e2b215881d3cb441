"""Every write to the rewards app. Each public function is one transaction."""

from rewards.services.ledger import LedgerOverflow
from rewards.services.notifications import (
    NotificationNeedsReview,
    NotificationResult,
    reward_notification_apply,
)

__all__ = [
    "LedgerOverflow", "NotificationNeedsReview", "NotificationResult", "reward_notification_apply",
]
