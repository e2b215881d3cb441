"""The member's timeline: rewards, adjustments, balance checks and audited events, newest first."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import BalanceSnapshot, Member
from accounts.selectors import snapshot_lines
from kernel.account_types import account_type_name
from kernel.lazy_text import Text, lazy_message
from rewards.models import Adjustment, AuditEntry, RewardEvent

TIMELINE_AUDIT_ACTIONS = (
    AuditEntry.Action.ADJUSTMENT_APPROVED,
    AuditEntry.Action.ADJUSTMENT_REJECTED,
    AuditEntry.Action.ADJUSTMENT_CANCELLED,
    AuditEntry.Action.ADJUSTMENT_EXPIRED,
    AuditEntry.Action.ADJUSTMENT_SUCCEEDED,
    AuditEntry.Action.ADJUSTMENT_FAILED,
    AuditEntry.Action.ADJUSTMENT_RETRIED,
    AuditEntry.Action.ADJUSTMENT_RESUMED,
    AuditEntry.Action.ADJUSTMENT_OUTCOME_UNKNOWN,
    AuditEntry.Action.ADJUSTMENT_RESENT,
    AuditEntry.Action.ADJUSTMENT_CLOSED,
)
NEEDS_ATTENTION_STATES = (Adjustment.State.FAILED, Adjustment.State.OUTCOME_UNKNOWN)
ATTENTION_AUDIT_ACTIONS = (
    AuditEntry.Action.ADJUSTMENT_FAILED, AuditEntry.Action.ADJUSTMENT_OUTCOME_UNKNOWN,
)


STATE_LABELS = dict(Adjustment.State.choices)
REWARD_STATE_LABELS = dict(RewardEvent.State.choices)


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # "reward", "adjustment", "audit" or "snapshot"
    # Titles and details are lazy: translated when the page shows them. Code never reads them;
    # it reads `kind` and the flags below.
    title: Text
    detail: Text = ""
    amount: Decimal | None = None  # the signed effect on the ledger, when there is one
    account_type: str = ""
    actor: str = ""
    adjustment_id: int | None = None
    reward_event_id: int | None = None
    snapshot_id: int | None = None
    attention: bool = False
    # A reward cancelled before any other notice: nothing reached the ledger.
    no_money_moved: bool = False


def _transaction_detail(event: RewardEvent) -> Text:
    if event.card:
        return lazy_message(_("transaction %(transaction)s · card %(card)s"),
                            transaction=event.transaction_id, card=event.card.pomelo_card_id)
    return lazy_message(_("transaction %(transaction)s"), transaction=event.transaction_id)


def _reward_items(event: RewardEvent) -> list[TimelineItem]:
    State = RewardEvent.State
    common: dict[str, Any] = {
        "kind": "reward", "account_type": event.account_type, "reward_event_id": event.pk,
        "detail": _transaction_detail(event), "actor": "Pomelo",
    }
    items = []
    if event.pending_at:
        amount = event.amount if event.state == State.PENDING else None
        items.append(TimelineItem(at=event.pending_at, title=_("Reward pending"), amount=amount,
                                  **common))
    if event.confirmed_at:
        amount = event.amount if event.state == State.CONFIRMED else None
        items.append(TimelineItem(at=event.confirmed_at, title=_("Reward confirmed"), amount=amount,
                                  **common))
    if event.cancelled_at:
        if event.pending_at or event.confirmed_at:
            items.append(TimelineItem(
                at=event.cancelled_at, title=_("Reward cancelled"),
                amount=-event.amount if event.amount else None, **common,
            ))
        else:
            items.append(TimelineItem(
                at=event.cancelled_at,
                title=_("Reward cancelled before any other notice (no money moved)"),
                no_money_moved=True, **common,
            ))
    if not items:
        items.append(TimelineItem(
            at=event.created_at, title=lazy_message(
                _("Reward %(state)s"), state=REWARD_STATE_LABELS.get(event.state, event.state)),
            **common,
        ))
    if event.needs_review:
        # The review reason is stored as written (English); the rest is translated.
        items.append(TimelineItem(
            at=event.updated_at, title=_("Reward flagged for review"),
            **{**common, "detail": lazy_message(
                _("%(reason)s · transaction %(transaction)s"),
                reason=event.review_reason, transaction=event.transaction_id)},
            attention=True,
        ))
    return items


REASON_LABELS = dict(Adjustment.ReasonCode.choices)
_REQUESTED = {
    Adjustment.Direction.CREDIT: _("Credit (mint) requested (#%(id)s), now %(state)s"),
    Adjustment.Direction.DEBIT: _("Debit (burn) requested (#%(id)s), now %(state)s"),
}
# The state mid-sentence, in lower case ("now rejected").
_lower = lazy(lambda text: str(text).lower(), str)


def _adjustment_title(adjustment: Adjustment) -> Text:
    # One whole sentence per direction, so each language words it its own way.
    return lazy_message(_REQUESTED[Adjustment.Direction(adjustment.direction)], id=adjustment.pk,
                        state=_lower(STATE_LABELS.get(adjustment.state, adjustment.state)))


def _adjustment_item(adjustment: Adjustment) -> TimelineItem:
    return TimelineItem(
        at=adjustment.created_at,
        kind="adjustment",
        title=_adjustment_title(adjustment),
        detail=lazy_message(_("%(reason)s: %(text)s"),
                            reason=REASON_LABELS.get(adjustment.reason_code, adjustment.reason_code),
                            text=adjustment.reason_text),
        amount=adjustment.signed_amount,
        account_type=adjustment.account_type,
        actor=adjustment.maker.get_username(),
        adjustment_id=adjustment.pk,
        attention=adjustment.state in NEEDS_ATTENTION_STATES,
    )


ACTION_LABELS = dict(AuditEntry.Action.choices)


def _audit_item(entry: AuditEntry) -> TimelineItem:
    states: Text = ""
    if entry.from_state != entry.to_state:
        states = lazy_message(_("%(from)s → %(to)s"),
                              **{"from": STATE_LABELS.get(entry.from_state, entry.from_state),
                                 "to": STATE_LABELS.get(entry.to_state, entry.to_state)})
    title: Text = ACTION_LABELS.get(entry.action, entry.action)
    if entry.action == AuditEntry.Action.ADJUSTMENT_APPROVED and entry.data.get("of"):
        title = lazy_message(_("Approval %(approval)s of %(of)s given"),
                             approval=entry.data.get("approval"), of=entry.data.get("of"))
    if entry.adjustment_id:
        title = lazy_message(_("%(title)s (#%(id)s)"), title=title, id=entry.adjustment_id)
    # The comment is stored as the person wrote it.
    detail = lazy_message(_("%(states)s · %(comment)s"), states=states, comment=entry.comment) \
        if states and entry.comment else (states or entry.comment)
    return TimelineItem(
        at=entry.created_at,
        kind="audit",
        title=title,
        detail=detail,
        actor=entry.actor_name,
        adjustment_id=entry.adjustment_id,
        attention=entry.action in ATTENTION_AUDIT_ACTIONS,
    )


def _balances_text_now(balances: list[tuple[str, Decimal]]) -> str:
    return ", ".join(f"{account_type_name(t)} {amount}" for t, amount in balances)


def _types_text_now(account_types: list[str]) -> str:
    return ", ".join(account_type_name(t) for t in account_types)


# The account types' names are translated when the page shows them, like the rest.
_balances_text = lazy(_balances_text_now, str)
_types_text = lazy(_types_text_now, str)


def _snapshot_item(snapshot: BalanceSnapshot) -> TimelineItem:
    detail: Text
    if snapshot.error:
        # Pomelo's error text is stored as it came.
        detail, attention = lazy_message(_("Pomelo error: %(error)s"), error=snapshot.error), True
    else:
        lines = snapshot_lines(snapshot=snapshot)
        balances = [(line.account_type, line.pomelo) for line in lines if line.pomelo is not None]
        differing = [line.account_type for line in lines if line.differs]
        detail = lazy_message(_("Pomelo: %(balances)s"), balances=_balances_text(balances))
        if differing:
            detail = lazy_message(_("Pomelo: %(balances)s · differs from our ledger in %(types)s"),
                                  balances=_balances_text(balances), types=_types_text(differing))
        attention = bool(differing)
    if snapshot.card:
        title = lazy_message(_("Balance checked at Pomelo by card %(card)s"),
                             card=snapshot.card.pomelo_card_id)
    else:
        title = _("Balance checked at Pomelo")
    return TimelineItem(
        at=snapshot.created_at,
        kind="snapshot",
        title=title,
        detail=detail,
        actor=snapshot.requested_by.get_username() if snapshot.requested_by else "",
        snapshot_id=snapshot.pk,
        attention=attention,
    )


def member_timeline(*, member: Member, limit: int = 100) -> list[TimelineItem]:
    """Everything that happened to the member, newest first, at most `limit` items.

    Four queries whatever the history: the latest `limit` of each of reward events (one item
    per stage they went through), adjustments, ledger-relevant audit entries and balance
    checks, merged in time order. Request and balance-check audit entries are left out: the
    adjustment and the snapshot show them.
    """
    events = (
        RewardEvent.objects.filter(account__member=member)
        .select_related("card")
        .order_by("-updated_at", "-id")[:limit]
    )
    adjustments = (
        Adjustment.objects.filter(member=member)
        .select_related("maker")
        .order_by("-created_at", "-id")[:limit]
    )
    entries = (
        AuditEntry.objects.filter(member=member, action__in=TIMELINE_AUDIT_ACTIONS)
        .order_by("-created_at", "-id")[:limit]
    )
    snapshots = (
        BalanceSnapshot.objects.filter(member=member)
        .select_related("card", "requested_by")
        .order_by("-created_at", "-id")[:limit]
    )
    items: list[TimelineItem] = []
    for event in events:
        items.extend(_reward_items(event))
    items.extend(_adjustment_item(a) for a in adjustments)
    items.extend(_audit_item(e) for e in entries)
    items.extend(_snapshot_item(s) for s in snapshots)
    # Newest first; at the same instant, a later step (audit) above the request it follows.
    rank = {"reward": 0, "snapshot": 1, "adjustment": 2, "audit": 3}
    items.sort(key=lambda item: (item.at, rank[item.kind]), reverse=True)
    return items[:limit]
