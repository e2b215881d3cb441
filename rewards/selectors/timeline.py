"""The member's timeline: rewards, adjustments, balance checks and audited events, newest first."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from accounts.models import BalanceSnapshot, Member
from accounts.selectors import snapshot_lines
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


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str  # "reward", "adjustment", "audit" or "snapshot"
    title: str
    detail: str = ""
    amount: Decimal | None = None  # the signed effect on the ledger, when there is one
    account_type: str = ""
    actor: str = ""
    adjustment_id: int | None = None
    reward_event_id: int | None = None
    snapshot_id: int | None = None
    attention: bool = False


def _reward_items(event: RewardEvent) -> list[TimelineItem]:
    State = RewardEvent.State
    card = f" · card {event.card.pomelo_card_id}" if event.card else ""
    common: dict[str, Any] = {
        "kind": "reward", "account_type": event.account_type, "reward_event_id": event.pk,
        "detail": f"transaction {event.transaction_id}{card}", "actor": "Pomelo",
    }
    items = []
    if event.pending_at:
        amount = event.amount if event.state == State.PENDING else None
        items.append(TimelineItem(at=event.pending_at, title="Reward pending", amount=amount,
                                  **common))
    if event.confirmed_at:
        amount = event.amount if event.state == State.CONFIRMED else None
        items.append(TimelineItem(at=event.confirmed_at, title="Reward confirmed", amount=amount,
                                  **common))
    if event.cancelled_at:
        if event.pending_at or event.confirmed_at:
            title, amount = "Reward cancelled", -event.amount if event.amount else None
        else:
            title, amount = "Reward cancelled before any other notice (no money moved)", None
        items.append(TimelineItem(at=event.cancelled_at, title=title, amount=amount, **common))
    if not items:
        items.append(TimelineItem(at=event.created_at, title=f"Reward {event.state}", **common))
    if event.needs_review:
        items.append(TimelineItem(
            at=event.updated_at, title="Reward flagged for review",
            **{**common, "detail": f"{event.review_reason} · transaction {event.transaction_id}"},
            attention=True,
        ))
    return items


def _adjustment_item(adjustment: Adjustment) -> TimelineItem:
    return TimelineItem(
        at=adjustment.created_at,
        kind="adjustment",
        title=(f"{adjustment.get_direction_display()} requested (#{adjustment.pk}), "
               f"now {adjustment.get_state_display().lower()}"),
        detail=f"{adjustment.get_reason_code_display()}: {adjustment.reason_text}",
        amount=adjustment.signed_amount,
        account_type=adjustment.account_type,
        actor=adjustment.maker.get_username(),
        adjustment_id=adjustment.pk,
        attention=adjustment.state in NEEDS_ATTENTION_STATES,
    )


def _audit_item(entry: AuditEntry) -> TimelineItem:
    states = f"{entry.from_state} → {entry.to_state}" if entry.from_state != entry.to_state else ""
    title = entry.get_action_display()
    if entry.action == AuditEntry.Action.ADJUSTMENT_APPROVED and entry.data.get("of"):
        title = f"Approval {entry.data.get('approval')} of {entry.data.get('of')} given"
    return TimelineItem(
        at=entry.created_at,
        kind="audit",
        title=f"{title} (#{entry.adjustment_id})" if entry.adjustment_id else title,
        detail=" · ".join(part for part in (states, entry.comment) if part),
        actor=entry.actor_name,
        adjustment_id=entry.adjustment_id,
        attention=entry.action in ATTENTION_AUDIT_ACTIONS,
    )


def _snapshot_item(snapshot: BalanceSnapshot) -> TimelineItem:
    if snapshot.error:
        detail, attention = f"Pomelo error: {snapshot.error}", True
    else:
        lines = snapshot_lines(snapshot=snapshot)
        detail = "Pomelo: " + ", ".join(
            f"{line.account_type} {line.pomelo}" for line in lines if line.pomelo is not None
        )
        differing = [line.account_type for line in lines if line.differs]
        if differing:
            detail += f" · differs from our ledger in {', '.join(differing)}"
        attention = bool(differing)
    by = f" by card {snapshot.card.pomelo_card_id}" if snapshot.card else ""
    return TimelineItem(
        at=snapshot.created_at,
        kind="snapshot",
        title=f"Balance checked at Pomelo{by}",
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
