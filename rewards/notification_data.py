"""What a Pomelo loyalty notification tells the ledger, independent of its wire format.

webhooks.payload builds these from request bodies; rewards.services applies them.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from rewards.models import NotificationKind


@dataclass(frozen=True)
class RewardNotification:
    kind: NotificationKind
    event_id: str
    idempotency_key: str
    user_id: str | None = None
    card_id: str | None = None
    card_last_four: str = ""
    transaction_id: str | None = None
    account_type: str | None = None
    amount: Decimal | None = None
    occurred_at: datetime | None = None

    def missing_for_ledger(self) -> list[str]:
        """Fields without which this notification cannot move money (we never guess them).

        A cancellation reverses what we already booked, so it needs no amount; whether it
        needs the user id depends on whether we know the reward (see the service).
        """
        required = ["transaction_id", "account_type"]
        if self.kind != NotificationKind.CANCELLATION:
            required += ["user_id", "amount"]
        return [name for name in required if getattr(self, name) in (None, "")]
