"""Every write to the rewards app. Each public function is one transaction."""

from rewards.services.ledger import LedgerOverflow
from rewards.services.notifications import NotificationResult, reward_notification_apply

__all__ = ["LedgerOverflow", "NotificationResult", "reward_notification_apply"]
