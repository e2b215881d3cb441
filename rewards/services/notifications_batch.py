"""Applying many notifications in one transaction: set-wise reads, bulk writes.

The result is the one `reward_notification_apply` gives for each notification in turn (the
same lifecycle code, `notification_book`, runs on rows held in memory), at a handful of
statements per batch instead of about a dozen per notification:

1. read the members of the batch, and the accounts its rewards already belong to;
2. lock those accounts in primary-key order, then the rewards (two batches never wait on each
   other in a cycle, and a one-by-one notice locks one account before its reward, as here);
3. run every notification in arrival order against the rows in memory, deciding what the
   one-by-one path would refuse (a card or reward of another member) before it creates
   anything, so a refused notice leaves nothing behind;
4. insert new members, cards, accounts, rewards and ledger entries in bulk, each table in key
   order, then update what changed.

Anything unexpected (a row another transaction created meanwhile, a constraint, a ledger
overflow) raises: the caller rolls the batch back and applies its notifications one by one.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Card, Member, RewardAccount
from accounts.services import account_type_validate
from kernel.bulk_update import rows_update
from kernel.locks import lock_for_update
from rewards.chain_links import ledger_entries_link
from rewards.models import LedgerEntry, RewardEvent
from rewards.notification_data import RewardNotification
from rewards.services.ledger import ledger_entry_build
from rewards.services.notifications import (
    LedgerWriter,
    NotificationNeedsReview,
    NotificationResult,
    notification_book,
)

State = RewardEvent.State


class BatchConflict(Exception):
    """Another transaction changed a row the batch relies on: apply one by one instead."""


@dataclass
class _Collected(LedgerWriter):
    """The lifecycle's writes, held for the bulk statements at the end of the batch."""

    new_events: list[RewardEvent] = field(default_factory=list)
    changed_events: dict[int, set[str]] = field(default_factory=dict)
    entries: list[LedgerEntry] = field(default_factory=list)

    def event_create(self, event: RewardEvent) -> None:
        self.new_events.append(event)

    def event_update(self, event: RewardEvent, fields: list[str]) -> None:
        if event.pk is not None:  # a new reward is inserted with its final state
            self.changed_events.setdefault(event.pk, set()).update(fields)

    def post(self, *, account, bucket, amount, event, description) -> None:
        entry = ledger_entry_build(account=account, bucket=bucket, amount=amount,
                                   reward_event=event, description=description)
        if entry is not None:
            self.entries.append(entry)


@dataclass
class _Rows:
    """The batch's rows, read once, and what the batch adds to them."""

    members: dict[str, Member]
    cards: dict[str, Card]
    card_owner: dict[str, str]  # pomelo card id -> pomelo user id
    accounts: dict[tuple[str, str], RewardAccount]  # (user id, account type)
    account_user: dict[int, str]  # id(account) -> pomelo user id
    events: dict[tuple[str, str], RewardEvent]
    # The account a reward belongs to: the account object when this batch holds its lock,
    # its primary key when it belongs to an account the batch did not lock, None if none.
    event_owner: dict[tuple[str, str], RewardAccount | int | None]
    new_members: list[Member] = field(default_factory=list)
    new_cards: list[Card] = field(default_factory=list)
    new_accounts: list[RewardAccount] = field(default_factory=list)
    last_four: dict[int, Card] = field(default_factory=dict)
    touched_accounts: dict[int, RewardAccount] = field(default_factory=dict)


def _key(notification: RewardNotification) -> tuple[str, str]:
    # The batch only takes notifications that passed missing_for_ledger, which requires both.
    transaction_id, account_type = notification.transaction_id, notification.account_type
    assert transaction_id is not None and account_type is not None
    return transaction_id, account_type


def _rows_read(notifications: list[RewardNotification]) -> _Rows:
    users = {n.user_id for n in notifications if n.user_id}
    card_ids = {n.card_id for n in notifications if n.user_id and n.card_id}
    card_ids |= {n.card_id for n in notifications if not n.user_id and n.card_id}
    keys = {_key(n) for n in notifications}
    types = {account_type_validate(account_type=_key(n)[1]) for n in notifications if n.user_id}
    tx_ids = {tx for tx, _ in keys}
    key_types = {t for _, t in keys}

    members = {m.pomelo_user_id: m for m in Member.objects.filter(pomelo_user_id__in=users)}
    known_events = dict(
        ((tx, t), account_id)
        for tx, t, account_id in RewardEvent.objects.filter(
            transaction_id__in=tx_ids, account_type__in=key_types
        ).values_list("transaction_id", "account_type", "account_id")
        if (tx, t) in keys
    )
    # Lock the members' accounts of the batch's types and the accounts its rewards belong to,
    # in primary-key order, before reading the rewards again under lock.
    reward_accounts = {a for a in known_events.values() if a is not None}
    locked = list(
        lock_for_update(RewardAccount.objects.select_related("member"))
        .filter(
            Q(member__in=list(members.values()), account_type__in=types)
            | Q(pk__in=reward_accounts)
        )
        .order_by("pk")
    )
    by_pk = {a.pk: a for a in locked}
    accounts = {(a.member.pomelo_user_id, a.account_type): a for a in locked}
    account_user = {id(a): a.member.pomelo_user_id for a in locked}
    events: dict[tuple[str, str], RewardEvent] = {}
    event_owner: dict[tuple[str, str], RewardAccount | int | None] = {}
    for event in (
        lock_for_update(RewardEvent.objects.all())
        .filter(transaction_id__in=tx_ids, account_type__in=key_types)
        .order_by("pk")
    ):
        key = (event.transaction_id, event.account_type)
        if key not in keys:
            continue
        if known_events.get(key, event.account_id) != event.account_id:
            raise BatchConflict(f"reward {key} changed account while the batch read it")
        events[key] = event
        account_id = event.account_id
        owner = None if account_id is None else by_pk.get(account_id, account_id)
        if owner is not None and not isinstance(owner, int):
            event.account = owner  # the locked row, whose balances this batch moves
        event_owner[key] = owner
    cards, card_owner = {}, {}
    for card in Card.objects.filter(pomelo_card_id__in=card_ids).select_related("member"):
        cards[card.pomelo_card_id] = card
        card_owner[card.pomelo_card_id] = card.member.pomelo_user_id
    return _Rows(members=members, cards=cards, card_owner=card_owner, accounts=accounts,
                 account_user=account_user, events=events, event_owner=event_owner)


def _owner_user(rows: _Rows, owner: RewardAccount | int) -> str:
    if isinstance(owner, int):
        found = Member.objects.filter(reward_accounts=owner).values_list("pomelo_user_id", flat=True)
        return found.first() or "(unknown)"
    return rows.account_user.get(id(owner), "(unknown)")


def _with_member(
    rows: _Rows, n: RewardNotification, writer: _Collected
) -> NotificationResult:
    """What `reward_notification_apply` does for a notice that names its member."""
    user, key = n.user_id, _key(n)
    # reward_notifications_apply sends only notices with a user id here.
    assert user is not None
    account_type = account_type_validate(account_type=key[1])
    # Checks first: a refused notice creates nothing (the one-by-one path rolls it back).
    owner = rows.card_owner.get(n.card_id) if n.card_id else None
    if owner is not None and owner != user:
        raise NotificationNeedsReview(f"card {n.card_id} belongs to member {owner}, not {user}")
    account = rows.accounts.get((user, account_type))
    event_owner = rows.event_owner.get(key)
    if key in rows.events and event_owner is not None and event_owner is not account:
        owner_user = _owner_user(rows, event_owner)
        if owner_user == user:
            # This member's account, created by another transaction after the batch locked
            # accounts (its reward with it): the batch holds no lock on it.
            raise BatchConflict(f"reward {key} is on an account of {user} the batch did not lock")
        raise NotificationNeedsReview(
            f"reward {n.transaction_id} ({n.account_type}) belongs to member {owner_user}, not {user}"
        )
    member = rows.members.get(user)
    if member is None:
        member = rows.members[user] = Member(pomelo_user_id=user)
        rows.new_members.append(member)
    card = None
    if n.card_id:
        card = rows.cards.get(n.card_id)
        if card is None:
            card = Card(member=member, pomelo_card_id=n.card_id, last_four=n.card_last_four)
            rows.cards[n.card_id], rows.card_owner[n.card_id] = card, user
            rows.new_cards.append(card)
        elif n.card_last_four and not card.last_four:
            card.last_four = n.card_last_four
            if card.pk is not None:
                rows.last_four[card.pk] = card
    if account is None:
        account = RewardAccount(member=member, account_type=account_type)
        rows.accounts[(user, account_type)] = account
        rows.account_user[id(account)] = user
        rows.new_accounts.append(account)
    event = rows.events.get(key)
    adopt = event is not None and event_owner is None
    result = notification_book(notification=n, account=account, event=event, card=card,
                               adopt=adopt, writer=writer)
    # notification_book always returns the reward it booked, new or given.
    assert result.event is not None
    rows.events[key], rows.event_owner[key] = result.event, account
    rows.touched_accounts[id(account)] = account
    return result


def _without_member(
    rows: _Rows, n: RewardNotification, writer: _Collected
) -> NotificationResult:
    """What `reward_notification_apply` does for a cancellation without user id."""
    key = _key(n)
    event = rows.events.get(key)
    if event is None:
        event = RewardEvent(
            transaction_id=key[0], account_type=key[1], account=None,
            state=State.CANCELLED, amount=Decimal("0"), cancelled_at=n.occurred_at or timezone.now(),
        )
        writer.event_create(event)
        rows.events[key], rows.event_owner[key] = event, None
        return NotificationResult(
            summary="cancellation without user id before any other notice: kept as a "
                    "tombstone, no money moved",
            event=event,
        )
    account = rows.event_owner.get(key)
    if isinstance(account, int):
        raise BatchConflict(f"reward {key} belongs to an account the batch did not lock")
    if n.card_id and account is not None:
        owner = rows.card_owner.get(n.card_id)
        if owner is not None and owner != rows.account_user.get(id(account)):
            raise NotificationNeedsReview(
                f"card {n.card_id} belongs to another member than reward "
                f"{n.transaction_id} ({n.account_type})"
            )
    if account is None:
        return NotificationResult(summary="cancellation of a cancelled reward: no change", event=event)
    result = notification_book(notification=n, account=account, event=event, card=None,
                               adopt=False, writer=writer)
    rows.touched_accounts[id(account)] = account
    return result


def _rows_write(rows: _Rows, writer: _Collected) -> None:
    now = timezone.now()
    Member.objects.bulk_create(sorted(rows.new_members, key=lambda m: m.pomelo_user_id))
    Card.objects.bulk_create(sorted(rows.new_cards, key=lambda c: c.pomelo_card_id))
    rows_update(sorted(rows.last_four.values(), key=lambda c: c.pk), ["last_four"])
    RewardAccount.objects.bulk_create(
        sorted(rows.new_accounts, key=lambda a: (rows.account_user[id(a)], a.account_type))
    )
    RewardEvent.objects.bulk_create(
        sorted(writer.new_events, key=lambda e: (e.transaction_id, e.account_type))
    )
    ledger_entries_link(entries=writer.entries)
    LedgerEntry.objects.bulk_create(writer.entries)
    changed = [rows.events[k] for k in rows.events if rows.events[k].pk in writer.changed_events]
    changed = [e for e in changed if e not in writer.new_events]
    if changed:
        fields = sorted(set().union(*(writer.changed_events[e.pk] for e in changed)))
        for event in changed:
            event.updated_at = now
        rows_update(sorted(changed, key=lambda e: e.pk), [*fields, "updated_at"])
    existing = [a for a in rows.touched_accounts.values() if a not in rows.new_accounts]
    for account in existing:
        account.updated_at = now
    rows_update(
        sorted(existing, key=lambda a: a.pk), ["pending_balance", "available_balance", "updated_at"]
    )


@transaction.atomic(savepoint=False)
def reward_notifications_apply(
    *, notifications: list[RewardNotification]
) -> list[NotificationResult | NotificationNeedsReview]:
    """Apply notifications in the order given, as `reward_notification_apply` would one after
    the other, inside the caller's transaction. For each: its result, or the
    NotificationNeedsReview that notice raised (it created nothing). Raises BatchConflict or a
    database error when the batch cannot be applied as a whole; the caller then rolls it back
    and applies them one by one."""
    # By index: every notification gets its result below, before either return.
    results: dict[int, NotificationResult | NotificationNeedsReview] = {}
    ledger = []
    for index, n in enumerate(notifications):
        missing = n.missing_for_ledger()
        if missing:
            results[index] = NotificationResult(
                summary="stored without ledger effect",
                flagged=f"missing {', '.join(missing)}: no money moved",
            )
        else:
            ledger.append(index)
    if not ledger:
        return [results[i] for i in range(len(notifications))]
    rows = _rows_read([notifications[i] for i in ledger])
    writer = _Collected()
    for index in ledger:
        n = notifications[index]
        try:
            results[index] = (_with_member if n.user_id else _without_member)(rows, n, writer)
        except NotificationNeedsReview as exc:
            results[index] = exc
    _rows_write(rows, writer)
    return [results[i] for i in range(len(notifications))]
