"""The member's story for the member page: every movement of money with the bucket it moves
and the balance of both buckets after it, among the events that moved nothing (requests,
approvals, balance checks, notices flagged for review).

Money rows come from the ledger itself, so a pending reward shows the amount it put in the
pending bucket and its cancellation shows that amount leaving the same bucket, never the
available one. Balances after each row are counted back from the account's balance now (the
ledger's sum), so they are exact however long the history.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

from accounts.models import Member
from kernel.lazy_text import Text, lazy_message
from rewards.models import Adjustment, LedgerEntry
from rewards.selectors import TimelineItem, member_timeline

ZERO = Decimal("0.00")
# The two entries of one confirmation (out of pending, into available) are written in one
# transaction, microseconds apart.
SAME_MOVE = timedelta(seconds=2)
# The ledger's descriptions are stored in English (rewards/services/notifications.py); staff
# read them in their language. One written otherwise is shown as stored.
LEDGER_STEPS = {
    "reward pending": _("Reward pending"),
    "reward confirmed": _("Reward confirmed"),
    "reward confirmed: leaves pending": _("Reward confirmed: leaves pending"),
    "reward cancelled while pending": _("Reward cancelled while pending"),
    "reward cancelled after confirmation: reversal": _("Reward cancelled after confirmation: reversal"),
}
MANUAL_STEPS = {
    Adjustment.Direction.CREDIT: _("Manual credit #%(id)s"),
    Adjustment.Direction.DEBIT: _("Manual debit #%(id)s"),
}
REASON_LABELS = dict(Adjustment.ReasonCode.choices)


@dataclass
class StoryRow:
    at: datetime
    kind: str  # "money", "adjustment", "audit", "snapshot" or "reward"
    title: Text
    account_type: str = ""
    pending_change: Decimal | None = None
    available_change: Decimal | None = None
    pending_after: Decimal | None = None
    available_after: Decimal | None = None
    # A request's amount: it moves nothing until it succeeds (then a money row follows).
    requested: Decimal | None = None
    detail: Text = ""
    actor: str = ""
    adjustment_id: int | None = None
    reward_event_id: int | None = None
    snapshot_id: int | None = None
    attention: bool = False

    @property
    def moves_money(self) -> bool:
        return self.kind == "money"


def _title(entries: list[LedgerEntry]) -> Text:
    # The available bucket's entry names the step ("reward confirmed"); the pending one of a
    # confirmation only says it leaves pending.
    main = next((e for e in entries if e.bucket == LedgerEntry.Bucket.AVAILABLE), entries[0])
    return ledger_entry_title(main)


def ledger_entry_title(main: LedgerEntry) -> Text:
    """The entry's stored description, as staff read it in their language."""
    if main.description in LEDGER_STEPS:
        return LEDGER_STEPS[main.description]
    adjustment = main.adjustment
    if adjustment is not None and adjustment.direction in MANUAL_STEPS:
        return lazy_message(MANUAL_STEPS[Adjustment.Direction(adjustment.direction)],
                            id=adjustment.pk)
    return main.description[:1].upper() + main.description[1:]


def _money_rows(member: Member, limit: int) -> list[StoryRow]:
    accounts = {a.pk: a for a in member.reward_accounts.all()}
    entries = list(
        LedgerEntry.objects.filter(account__in=list(accounts))
        .select_related("reward_event__card", "adjustment__maker")
        .order_by("-created_at", "-id")[: limit * 2]
    )
    groups: list[list[LedgerEntry]] = []
    for entry in entries:
        last = groups[-1] if groups else None
        if (
            last is not None and len(last) == 1
            and last[0].account_id == entry.account_id
            and last[0].reward_event_id == entry.reward_event_id
            and last[0].adjustment_id == entry.adjustment_id
            and last[0].bucket != entry.bucket
            and last[0].created_at - entry.created_at <= SAME_MOVE
        ):
            last.append(entry)
        else:
            groups.append([entry])

    running = {pk: {"pending": a.pending_balance, "available": a.available_balance}
               for pk, a in accounts.items()}
    rows = []
    for group in groups:
        account = accounts[group[0].account_id]
        balance = running[account.pk]
        changes = {"pending": None, "available": None}
        for entry in group:
            changes[entry.bucket] = (changes[entry.bucket] or ZERO) + entry.amount
        cause = group[0]
        detail: Text = ""
        actor = "Pomelo"
        if cause.reward_event is not None:
            event = cause.reward_event
            detail = (lazy_message(_("transaction %(transaction)s · card %(card)s"),
                                   transaction=event.transaction_id, card=event.card.pomelo_card_id)
                      if event.card else
                      lazy_message(_("transaction %(transaction)s"), transaction=event.transaction_id))
        elif cause.adjustment is not None:
            adjustment = cause.adjustment
            detail = lazy_message(
                _("%(reason)s: %(text)s"),
                reason=REASON_LABELS.get(adjustment.reason_code, adjustment.reason_code),
                text=adjustment.reason_text,
            )
            actor = adjustment.maker.get_username()
        rows.append(StoryRow(
            at=max(e.created_at for e in group),
            kind="money",
            title=_title(group),
            account_type=account.account_type,
            pending_change=changes["pending"],
            available_change=changes["available"],
            pending_after=balance["pending"],
            available_after=balance["available"],
            detail=detail,
            actor=actor,
            adjustment_id=cause.adjustment_id,
            reward_event_id=cause.reward_event_id,
            attention=balance["available"] < 0,
        ))
        for bucket, change in changes.items():
            if change is not None:
                balance[bucket] -= change
    return rows


def _without_money(item: TimelineItem) -> StoryRow | None:
    """The timeline's items that move nothing; its reward stages are the ledger's rows here."""
    if item.kind == "reward" and not (item.attention or item.no_money_moved):
        return None
    return StoryRow(
        at=item.at, kind=item.kind, title=item.title, account_type=item.account_type,
        requested=item.amount if item.kind == "adjustment" else None,
        detail=item.detail, actor=item.actor, adjustment_id=item.adjustment_id,
        reward_event_id=item.reward_event_id, snapshot_id=item.snapshot_id,
        attention=item.attention,
    )


def member_story(*, member: Member, limit: int = 100) -> list[StoryRow]:
    """The member's latest `limit` rows, newest first. Six queries whatever the history."""
    rows = _money_rows(member, limit)
    rows += [row for item in member_timeline(member=member, limit=limit)
             if (row := _without_money(item)) is not None]
    # Newest first; at the same instant the money row above the request or notice it follows.
    rank = {"reward": 0, "snapshot": 1, "adjustment": 2, "audit": 3, "money": 4}
    rows.sort(key=lambda row: (row.at, rank[row.kind]), reverse=True)
    return rows[:limit]
