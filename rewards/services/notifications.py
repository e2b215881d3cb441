"""Writes to the reward ledger. Every function is one transaction."""

from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from accounts.models import Card, Member, RewardAccount
from accounts.services import card_get_or_create, member_get_or_create, reward_account_lock
from kernel.locks import lock_first, lock_one
from rewards.models import LedgerEntry, NotificationKind, RewardEvent
from rewards.notification_data import RewardNotification
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
    # Set when it was applied but a person should look at the result.
    review: str = ""


class NotificationNeedsReview(Exception):
    """The notification must move no money and create nothing: a person decides.

    Raised from inside the caller's transaction, possibly after members or cards were
    created, so that the caller's savepoint rolls all of it back.
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def _member_of_account(account_id: int | None) -> str:
    if account_id is None:
        return "(unknown)"
    return (
        Member.objects.filter(reward_accounts=account_id).values_list("pomelo_user_id", flat=True).first()
        or "(unknown)"
    )


class LedgerWriter:
    """Where the lifecycle below writes: straight to the database, one statement at a time.
    The batch apply (notifications_batch) collects the same writes and issues them in bulk."""

    def event_create(self, event: RewardEvent) -> None:
        event.save()

    def event_update(self, event: RewardEvent, fields: list[str]) -> None:
        event.save(update_fields=[*fields, "updated_at"])

    def post(self, *, account: RewardAccount, bucket: str, amount: Decimal, event: RewardEvent,
             description: str) -> None:
        ledger_post(account=account, bucket=bucket, amount=amount, reward_event=event,
                    description=description)


def _event_create(
    *, account: RewardAccount, notification: RewardNotification, card, writer: LedgerWriter
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
    writer.event_create(event)
    if kind == NotificationKind.PENDING:
        writer.post(account=account, bucket=Bucket.PENDING, amount=amount, event=event,
                    description="reward pending")
        return event, f"created pending reward {amount}"
    if kind == NotificationKind.CONFIRMATION:
        writer.post(account=account, bucket=Bucket.AVAILABLE, amount=amount, event=event,
                    description="reward confirmed")
        return event, f"created confirmed reward {amount}"
    return event, "cancellation before any other notice: recorded, no money moved"


def _event_transition(
    *, account: RewardAccount, event: RewardEvent, notification: RewardNotification,
    writer: LedgerWriter,
) -> tuple[str, str]:
    """Move an existing reward along the lifecycle table; return (summary, review)."""
    kind, at = notification.kind, notification.occurred_at or timezone.now()
    booked = event.amount
    if event.state == State.PENDING and kind == NotificationKind.CONFIRMATION:
        amount = notification.amount
        writer.post(account=account, bucket=Bucket.PENDING, amount=-booked, event=event,
                    description="reward confirmed: leaves pending")
        writer.post(account=account, bucket=Bucket.AVAILABLE, amount=amount, event=event,
                    description="reward confirmed")
        event.state, event.amount, event.confirmed_at = State.CONFIRMED, amount, at
        writer.event_update(event, ["state", "amount", "confirmed_at"])
        return f"pending {booked} confirmed as {amount}", ""
    if event.state == State.PENDING and kind == NotificationKind.CANCELLATION:
        writer.post(account=account, bucket=Bucket.PENDING, amount=-booked, event=event,
                    description="reward cancelled while pending")
        event.state, event.cancelled_at = State.CANCELLED, at
        writer.event_update(event, ["state", "cancelled_at"])
        return f"pending {booked} cancelled", ""
    if event.state == State.CONFIRMED and kind == NotificationKind.CANCELLATION:
        writer.post(account=account, bucket=Bucket.AVAILABLE, amount=-booked, event=event,
                    description="reward cancelled after confirmation: reversal")
        event.state, event.cancelled_at = State.CANCELLED, at
        writer.event_update(event, ["state", "cancelled_at"])
        return f"confirmed {booked} reversed", ""
    if event.state == State.CANCELLED and kind == NotificationKind.CONFIRMATION:
        reason = "confirmation arrived after the reward was cancelled"
        event.needs_review, event.review_reason = True, reason
        writer.event_update(event, ["needs_review", "review_reason"])
        return "confirmation after cancellation: no money moved, flagged for review", reason
    return f"{kind} on a {event.state} reward: no change", ""


def _tombstone_adopt(
    *, event: RewardEvent, account: RewardAccount, card: Card | None, writer: LedgerWriter
) -> None:
    """A cancellation kept without a user id belongs to the first member the reward names."""
    event.account, event.card = account, event.card or card
    writer.event_update(event, ["account", "card"])


def _locked_with_member(
    notification: RewardNotification, key: dict
) -> tuple[RewardAccount, Card | None, RewardEvent | None]:
    """The member's account (locked), card and reward event (locked), when they agree.

    A card or a reward that belongs to another member raises NotificationNeedsReview: the
    caller's savepoint then undoes the member and card this created.
    """
    member = member_get_or_create(pomelo_user_id=notification.user_id)
    card = None
    if notification.card_id:
        card = card_get_or_create(
            member=member, pomelo_card_id=notification.card_id, last_four=notification.card_last_four
        )
        if card.member_id != member.pk:
            owner = Member.objects.filter(pk=card.member_id).values_list("pomelo_user_id", flat=True).first()
            raise NotificationNeedsReview(
                f"card {notification.card_id} belongs to member {owner}, not {notification.user_id}"
            )
    account = reward_account_lock(member=member, account_type=notification.account_type)
    event = lock_first(RewardEvent.objects, **key)
    if event is not None and event.account_id not in (None, account.pk):
        raise NotificationNeedsReview(
            f"reward {notification.transaction_id} ({notification.account_type}) belongs to member "
            f"{_member_of_account(event.account_id)}, not {notification.user_id}"
        )
    return account, card, event


def _userless_cancellation(
    notification: RewardNotification, key: dict
) -> tuple[RewardAccount | None, RewardEvent | None]:
    """A cancellation without user id: the reward's own account (locked) and event (locked),
    or a new tombstone without an account when the reward has not been seen yet.

    Two notifications may create the reward at once; the unique constraint on the reward
    lets one win, and the other's IntegrityError makes the intake apply it again.
    """
    known = RewardEvent.objects.filter(**key).values_list("pk", "account_id").first()
    if known is None:
        return None, None
    account_id = known[1]
    account = lock_one(RewardAccount.objects, pk=account_id) if account_id else None
    event = lock_first(RewardEvent.objects, **key)
    if notification.card_id and account is not None:
        cards = Card.objects.filter(pomelo_card_id=notification.card_id)
        owner_id = cards.values_list("member_id", flat=True).first()
        if owner_id is not None and owner_id != account.member_id:
            raise NotificationNeedsReview(
                f"card {notification.card_id} belongs to another member than reward "
                f"{notification.transaction_id} ({notification.account_type})"
            )
    return account, event


@transaction.atomic(savepoint=False)
def reward_notification_apply(*, notification: RewardNotification) -> NotificationResult:
    """Apply one pending, confirmation or cancellation notice to the reward ledger.

    Deliveries repeat and arrive in any order; the README's lifecycle table makes the final
    state the same for every order. All notices of one account serialize on its row lock,
    which is taken before the reward event is read, so "does this reward exist" is never
    decided by two transactions at once. A notice locks one account only: one that names
    another member's card or reward raises NotificationNeedsReview instead of reaching for a
    second account (two notices crossing between two members would otherwise deadlock).
    It joins the caller's transaction without a savepoint: the webhook intake already wraps
    it in one.
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
        account, card, event = _locked_with_member(notification, key)
    else:
        account, event = _userless_cancellation(notification, key)
        if event is None:
            event = RewardEvent.objects.create(
                **key, account=None, state=State.CANCELLED, amount=Decimal("0"),
                cancelled_at=notification.occurred_at or timezone.now(),
            )
            return NotificationResult(
                summary="cancellation without user id before any other notice: kept as a "
                        "tombstone, no money moved",
                event=event,
            )
        if account is None:
            return NotificationResult(summary="cancellation of a cancelled reward: no change", event=event)

    writer = LedgerWriter()
    result = notification_book(
        notification=notification, account=account, event=event, card=card,
        adopt=event is not None and event.account_id is None, writer=writer,
    )
    account.save(update_fields=["pending_balance", "available_balance", "updated_at"])
    return result


def notification_book(
    *, notification: RewardNotification, account: RewardAccount, event: RewardEvent | None,
    card: Card | None, adopt: bool, writer: LedgerWriter,
) -> NotificationResult:
    """The lifecycle step of one notification on its (locked) account and reward, through
    `writer`; the caller saves the account. `adopt`: the reward is a tombstone without an
    account, which this member's notice takes over."""
    available_before = account.available_balance
    review = ""
    if event is None:
        event, summary = _event_create(
            account=account, notification=notification, card=card, writer=writer
        )
    else:
        if adopt:
            _tombstone_adopt(event=event, account=account, card=card, writer=writer)
        summary, review = _event_transition(
            account=account, event=event, notification=notification, writer=writer
        )
    if account.available_balance < 0 and account.available_balance < available_before:
        # Pomelo is the source of truth for balances: book it, and have a person look.
        who = notification.user_id or f"reward account #{account.pk}"
        review = review or (
            f"available {account.account_type} balance of {who} went below zero: "
            f"{account.available_balance}"
        )
    return NotificationResult(summary=summary, event=event, review=review)
