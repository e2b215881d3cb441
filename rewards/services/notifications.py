"""Writes to the reward ledger. Every function is one transaction."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import RewardAccount
from accounts.services import card_get_or_create, member_get_or_create, reward_account_lock
from rewards.models import LedgerEntry, NotificationKind, RewardEvent
from rewards.notifications import RewardNotification
from rewards.services.ledger import ledger_post

State = RewardEvent.State
Bucket = LedgerEntry.Bucket


@dataclass(frozen=True)
class NotificationResult:
    """What applying a notification did, in words staff can read on the delivery."""

    summary: str
    event: RewardEvent | None = None
    # Set when the notification was kept but could not (or must not) move money.
    flagged: str = ""


def _event_create(
    *, account: RewardAccount, notification: RewardNotification, card
) -> tuple[RewardEvent, str]:
    kind, amount = notification.kind, notification.amount or Decimal("0")
    at = notification.occurred_at or timezone.now()
    event = RewardEvent(
        transaction_id=notification.transaction_id,
        account_type=account.account_type,
        account=account,
        card=card,
    )
    if kind == NotificationKind.PENDING:
        event.state, event.amount, event.pending_at = State.PENDING, amount, at
    elif kind == NotificationKind.CONFIRMATION:
        event.state, event.amount, event.confirmed_at = State.CONFIRMED, amount, at
    else:
        # A cancellation for a reward we never saw: a tombstone, so the pending or
        # confirmation that arrives late finds the reward already cancelled and books nothing.
        event.state, event.amount, event.cancelled_at = State.CANCELLED, Decimal("0"), at
    event.save()
    if kind == NotificationKind.PENDING:
        ledger_post(account=account, bucket=Bucket.PENDING, amount=amount, reward_event=event,
                     description="reward pending")
        return event, f"created pending reward {amount}"
    if kind == NotificationKind.CONFIRMATION:
        ledger_post(account=account, bucket=Bucket.AVAILABLE, amount=amount, reward_event=event,
                     description="reward confirmed")
        return event, f"created confirmed reward {amount}"
    return event, "cancellation before any other notice: recorded, no money moved"


def _event_transition(
    *, account: RewardAccount, event: RewardEvent, notification: RewardNotification
) -> str:
    kind, at = notification.kind, notification.occurred_at or timezone.now()
    booked = event.amount
    if event.state == State.PENDING and kind == NotificationKind.CONFIRMATION:
        amount = notification.amount
        ledger_post(account=account, bucket=Bucket.PENDING, amount=-booked, reward_event=event,
                     description="reward confirmed: leaves pending")
        ledger_post(account=account, bucket=Bucket.AVAILABLE, amount=amount, reward_event=event,
                     description="reward confirmed")
        event.state, event.amount, event.confirmed_at = State.CONFIRMED, amount, at
        event.save(update_fields=["state", "amount", "confirmed_at", "updated_at"])
        return f"pending {booked} confirmed as {amount}"
    if event.state == State.PENDING and kind == NotificationKind.CANCELLATION:
        ledger_post(account=account, bucket=Bucket.PENDING, amount=-booked, reward_event=event,
                     description="reward cancelled while pending")
        event.state, event.cancelled_at = State.CANCELLED, at
        event.save(update_fields=["state", "cancelled_at", "updated_at"])
        return f"pending {booked} cancelled"
    if event.state == State.CONFIRMED and kind == NotificationKind.CANCELLATION:
        ledger_post(account=account, bucket=Bucket.AVAILABLE, amount=-booked, reward_event=event,
                     description="reward cancelled after confirmation: reversal")
        event.state, event.cancelled_at = State.CANCELLED, at
        event.save(update_fields=["state", "cancelled_at", "updated_at"])
        return f"confirmed {booked} reversed"
    if event.state == State.CANCELLED and kind == NotificationKind.CONFIRMATION:
        event.needs_review = True
        event.review_reason = "confirmation arrived after the reward was cancelled"
        event.save(update_fields=["needs_review", "review_reason", "updated_at"])
        return "confirmation after cancellation: no money moved, flagged for review"
    return f"{kind} on a {event.state} reward: no change"


@transaction.atomic(savepoint=False)
def reward_notification_apply(*, notification: RewardNotification) -> NotificationResult:
    """Apply one pending, confirmation or cancellation notice to the reward ledger.

    Deliveries repeat and arrive in any order; design.md's table makes the final state the
    same for every order. All notices of one account serialize on its row lock, which is taken
    before the reward event is read, so "does this reward exist" is never decided by two
    transactions at once. It joins the caller's transaction without a savepoint: the webhook
    intake already wraps it in one.
    """
    missing = notification.missing_for_ledger()
    if missing:
        return NotificationResult(
            summary="stored without ledger effect",
            flagged=f"missing {', '.join(missing)}: no money moved",
        )

    key = {"transaction_id": notification.transaction_id,
           "account_type": notification.account_type}
    card = None
    if notification.user_id:
        member = member_get_or_create(pomelo_user_id=notification.user_id)
        if notification.card_id:
            card = card_get_or_create(
                member=member,
                pomelo_card_id=notification.card_id,
                last_four=notification.card_last_four,
            )
        account = reward_account_lock(member=member, account_type=notification.account_type)
        event = RewardEvent.objects.select_for_update().filter(**key).first()
        if event is not None and event.account_id != account.pk:
            # The reward was booked on another account; its reversal belongs there too.
            account = RewardAccount.objects.select_for_update().get(pk=event.account_id)
    else:
        known = RewardEvent.objects.filter(**key).values_list("account_id", flat=True).first()
        if known is None:
            return NotificationResult(
                summary="stored without ledger effect",
                flagged="missing user_id: cancellation of a reward we have not seen",
            )
        account = RewardAccount.objects.select_for_update().get(pk=known)
        event = RewardEvent.objects.select_for_update().filter(**key).first()
    if event is None:
        event, summary = _event_create(account=account, notification=notification, card=card)
    else:
        summary = _event_transition(account=account, event=event, notification=notification)
    account.save(update_fields=["pending_balance", "available_balance", "updated_at"])
    return NotificationResult(summary=summary, event=event)
