"""Reads of the reward ledger, adjustments and the member's history."""

from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from itertools import islice

from django.contrib.auth import get_user_model
from django.db import connections, transaction
from django.db.models import (
    Count,
    DecimalField,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.utils import timezone

from accounts.models import BalanceSnapshot, Card, Member, RewardAccount
from accounts.selectors import snapshot_lines
from rewards.models import Adjustment, Approval, AuditEntry, LedgerEntry, RewardEvent
from rewards.policies import negative_balance_allowed, submission_overdue

CENT = Decimal("0.01")


@dataclass(frozen=True)
class LedgerMismatch:
    account: RewardAccount
    bucket: str
    balance: Decimal
    entries_total: Decimal

    @property
    def difference(self) -> Decimal:
        return self.balance - self.entries_total


def _bucket_total(bucket: str) -> Coalesce:
    total = (
        LedgerEntry.objects.filter(account=OuterRef("pk"), bucket=bucket)
        .order_by()
        .values("account")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    money = DecimalField(max_digits=18, decimal_places=2)
    return Coalesce(Subquery(total, output_field=money), Value(Decimal("0"), output_field=money))


def ledger_mismatches() -> list[LedgerMismatch]:
    """Every reward account bucket whose balance column differs from the sum of its entries."""
    accounts = RewardAccount.objects.select_related("member").annotate(
        pending_total=_bucket_total(LedgerEntry.Bucket.PENDING),
        available_total=_bucket_total(LedgerEntry.Bucket.AVAILABLE),
    )
    mismatches = []
    for account in accounts.iterator(chunk_size=2000):
        for bucket, balance, total in (
            (LedgerEntry.Bucket.PENDING, account.pending_balance, account.pending_total),
            (LedgerEntry.Bucket.AVAILABLE, account.available_balance, account.available_total),
        ):
            # SQLite sums decimals without their scale; compare to the cent on every backend.
            total = Decimal(total).quantize(CENT)
            if balance != total:
                mismatches.append(LedgerMismatch(account, bucket, balance, total))
    return mismatches


# --- Searches by Pomelo id ------------------------------------------------------------------

POMELO_ID_MATCHES_LIMIT = 1000


@dataclass(frozen=True)
class PomeloIdMatches:
    """What a Pomelo id typed into a search names: the reward accounts of the member with that
    user id, the cards with that card id, the reward events of that transaction."""

    account_ids: list[int]
    card_ids: list[int]
    reward_event_ids: list[int]


def pomelo_id_matches(*, term: str) -> PomeloIdMatches:
    """Three small queries on the ids' UPPER indexes (the searches are case-insensitive), so a
    list can then be filtered on its own indexes instead of scanning a join of big tables."""
    term = term.strip()
    if not term or len(term) > 64:
        return PomeloIdMatches([], [], [])

    def ids(queryset, field="pk") -> list[int]:
        return list(queryset.order_by().values_list(field, flat=True)[:POMELO_ID_MATCHES_LIMIT])

    return PomeloIdMatches(
        account_ids=ids(RewardAccount.objects.filter(member__pomelo_user_id__iexact=term)),
        card_ids=ids(Card.objects.filter(pomelo_card_id__iexact=term)),
        reward_event_ids=ids(RewardEvent.objects.filter(transaction_id__iexact=term)),
    )


# --- Adjustments -------------------------------------------------------------------------


def adjustments_waiting_for(*, user, queryset: QuerySet[Adjustment] | None = None) -> QuerySet[Adjustment]:
    """Requests `user` could approve now: pending approval and not overdue, not made by them,
    not yet approved by them. The approver's queue."""
    queryset = Adjustment.objects.all() if queryset is None else queryset
    approved_by_user = Approval.objects.filter(adjustment=OuterRef("pk"), approver_id=user.pk)
    return (
        queryset.filter(state=Adjustment.State.PENDING_APPROVAL, expires_at__gt=timezone.now())
        .exclude(maker_id=user.pk)
        .exclude(Exists(approved_by_user))
    )


@dataclass(frozen=True)
class AdjustmentTotal:
    account_type: str
    direction: str
    count: int
    amount: Decimal
    succeeded_count: int
    succeeded_amount: Decimal

    @property
    def direction_label(self) -> str:
        return Adjustment.Direction(self.direction).label


def _one_row_per_adjustment(queryset: QuerySet[Adjustment]) -> bool:
    """Whether `queryset`'s rows are its adjustments, each once: no DISTINCT, no UNION, and
    every join it carries (its filters' and searches') follows a foreign key or a one-to-one
    forward, so it matches at most one row. A reverse or many-to-many join may repeat one."""
    query = queryset.query
    if query.distinct or query.combinator:
        return False
    for join in query.alias_map.values():
        field = getattr(join, "join_field", None)  # None for the adjustments' own table
        if field is not None and not (field.many_to_one or field.one_to_one):
            return False
    return True


def adjustment_totals(*, queryset: QuerySet[Adjustment]) -> list[AdjustmentTotal]:
    """Count and sum of `queryset` per account type and direction, with the part that
    succeeded at Pomelo. One query, whatever joins or annotations `queryset` carries.

    When each adjustment is one row of `queryset`, they are summed directly; otherwise through
    `pk IN (…)`, which PostgreSQL answers with a semi-join of the table with itself (over
    50,000 adjustments that doubles the list's database time)."""
    succeeded = Q(state=Adjustment.State.SUCCEEDED)
    if _one_row_per_adjustment(queryset):
        adjustments = queryset.order_by()
    else:
        adjustments = Adjustment.objects.filter(pk__in=queryset.order_by().values("pk"))
    rows = (
        adjustments
        .values("account_type", "direction")
        .annotate(
            n=Count("pk"),
            total=Sum("amount"),
            n_succeeded=Count("pk", filter=succeeded),
            total_succeeded=Sum("amount", filter=succeeded),
        )
        .order_by("account_type", "direction")
    )
    return [
        AdjustmentTotal(
            account_type=row["account_type"],
            direction=row["direction"],
            count=row["n"],
            amount=Decimal(row["total"] or 0).quantize(CENT),
            succeeded_count=row["n_succeeded"],
            succeeded_amount=Decimal(row["total_succeeded"] or 0).quantize(CENT),
        )
        for row in rows
    ]


def member_recent_adjustments(
    *, member: Member, limit: int = 10, exclude_id: int | None = None
) -> list[Adjustment]:
    adjustments = Adjustment.objects.filter(member=member).select_related("maker", "card")
    if exclude_id is not None:
        adjustments = adjustments.exclude(pk=exclude_id)
    return list(adjustments.order_by("-created_at", "-id")[:limit])


def member_open_adjustments(*, member: Member) -> list[Adjustment]:
    return list(
        Adjustment.objects.open().filter(member=member).select_related("maker").order_by("created_at")
    )


@dataclass(frozen=True)
class BalanceEffect:
    """What an adjustment would do to the available balance of its account, as of now."""

    available_before: Decimal
    available_after: Decimal
    pending: Decimal

    @property
    def above_available(self) -> bool:
        return self.available_after < 0


def adjustment_balance_effect(*, adjustment: Adjustment) -> BalanceEffect:
    account = RewardAccount.objects.filter(
        member_id=adjustment.member_id, account_type=adjustment.account_type
    ).first()
    available = account.available_balance if account else Decimal("0.00")
    pending = account.pending_balance if account else Decimal("0.00")
    return BalanceEffect(
        available_before=available,
        available_after=available + adjustment.signed_amount,
        pending=pending,
    )


@dataclass(frozen=True)
class AdjustmentActions:
    """Which buttons `user` gets on an adjustment. The services enforce the same rules; this
    only decides what to offer, and explains why an action is not possible."""

    can_review: bool
    review_blocker: str
    can_approve: bool  # within a review: False when Pomelo would refuse the debit anyway
    approve_blocker: str
    can_cancel: bool
    can_resume: bool  # a submission whose lease is over
    can_decide: bool  # an outcome unknown: re-send, or close as applied or not applied
    decide_blocker: str
    can_check_balance: bool


def adjustment_actions(*, adjustment: Adjustment, user) -> AdjustmentActions:
    State = Adjustment.State
    pending = adjustment.state == State.PENDING_APPROVAL
    is_approver = user.has_perm("rewards.approve_adjustment")
    blocker = ""
    if not is_approver:
        blocker = "You do not have permission to approve or reject adjustments."
    elif not pending:
        blocker = (f"This adjustment is {adjustment.get_state_display().lower()}; only a request "
                   "pending approval can be reviewed.")
    elif adjustment.expires_at <= timezone.now():
        blocker = "This request is past its approval deadline and will expire."
    elif adjustment.maker_id == user.pk:
        blocker = "You requested this adjustment; another approver must review it."
    elif adjustment.approvals.filter(approver_id=user.pk).exists():
        blocker = "You already approved this adjustment; a different approver is needed."
    approve_blocker = ""
    effect = adjustment_balance_effect(adjustment=adjustment) if pending else None
    if (effect is not None and adjustment.direction == Adjustment.Direction.DEBIT
            and effect.above_available and not negative_balance_allowed()):
        approve_blocker = (
            f"This debit exceeds the available {adjustment.account_type} balance of "
            f"{effect.available_before}, and Pomelo does not let a balance go below zero: it "
            "would refuse it. It cannot be approved; reject it."
        )
    decide_blocker = ""
    if adjustment.state == State.OUTCOME_UNKNOWN:
        if not is_approver:
            decide_blocker = "An approver decides the outcome of this adjustment."
        elif adjustment.maker_id == user.pk:
            decide_blocker = "You requested this adjustment; another approver must decide its outcome."
    can_resume_perm = is_approver or user.has_perm("rewards.retry_adjustment")
    return AdjustmentActions(
        can_review=not blocker,
        review_blocker=blocker,
        can_approve=not blocker and not approve_blocker,
        approve_blocker=approve_blocker,
        can_cancel=pending and adjustment.maker_id == user.pk,
        can_resume=can_resume_perm and submission_overdue(adjustment, now=timezone.now()),
        can_decide=adjustment.state == State.OUTCOME_UNKNOWN and not decide_blocker,
        decide_blocker=decide_blocker,
        can_check_balance=user.has_perm("accounts.check_balance"),
    )


def adjustments_unsettled(*, now: datetime | None = None) -> QuerySet[Adjustment]:
    """Adjustments sent to Pomelo whose outcome is not recorded: SUBMITTING past their lease
    (the worker died, or the attempt failed and awaits its resume) or OUTCOME_UNKNOWN. Pomelo
    may have applied them."""
    now = now or timezone.now()
    State = Adjustment.State
    return Adjustment.objects.filter(
        Q(state=State.OUTCOME_UNKNOWN)
        | Q(state=State.SUBMITTING, lease_expires_at__lte=now)
        | Q(state=State.SUBMITTING, lease_expires_at__isnull=True)
    )


@dataclass(frozen=True)
class OutcomeEvidence:
    """Pomelo's balance, from the latest check, beside what the adjustment would have made of
    our ledger's balance at that same moment. A hint for the approver, not a proof: card
    traffic Pomelo has not notified yet moves its balance too."""

    snapshot: BalanceSnapshot | None
    pomelo: Decimal | None
    ledger: Decimal  # ours at the check; this adjustment is not booked while its outcome is unknown
    if_applied: Decimal
    fresh: bool  # checked after the latest attempt was sent

    @property
    def verdict(self) -> str:
        if self.pomelo is None:
            return "unknown"
        if self.pomelo == self.if_applied:
            return "applied"
        if self.pomelo == self.ledger:
            return "not_applied"
        return "neither"


def adjustment_outcome_evidence(*, adjustment: Adjustment) -> OutcomeEvidence:
    snapshot = (
        BalanceSnapshot.objects.filter(member_id=adjustment.member_id)
        .select_related("requested_by").order_by("-created_at", "-id").first()
    )
    pomelo, ledger = None, Decimal("0.00")
    if snapshot is not None and not snapshot.error:
        raw = snapshot.balances.get(adjustment.account_type)
        pomelo = Decimal(str(raw)) if raw not in (None, "") else Decimal("0.00")
        ledger = Decimal(str(snapshot.ledger_balances.get(adjustment.account_type) or "0.00"))
    elif snapshot is None:
        account = RewardAccount.objects.filter(
            member_id=adjustment.member_id, account_type=adjustment.account_type
        ).first()
        ledger = account.available_balance if account else Decimal("0.00")
    fresh = bool(snapshot and adjustment.submitted_at and snapshot.created_at >= adjustment.submitted_at)
    return OutcomeEvidence(
        snapshot=snapshot, pomelo=pomelo, ledger=ledger,
        if_applied=ledger + adjustment.signed_amount, fresh=fresh,
    )


def adjustment_approvals(*, adjustment: Adjustment) -> list[Approval]:
    return list(adjustment.approvals.select_related("approver").order_by("created_at", "id"))


def adjustment_history(*, adjustment: Adjustment) -> list[AuditEntry]:
    """The adjustment's audit trail, oldest first."""
    return list(adjustment.audit_entries.order_by("created_at", "id"))


ADJUSTMENT_CSV_HEADER = [
    "id", "created_at", "member_user_id", "card_id", "account_type", "direction", "amount",
    "reason_code", "reason_text", "state", "maker", "approvals", "approved_at", "completed_at",
    "pomelo_status", "pomelo_reference", "idempotency_key", "failure_reason",
]


def _iso(value) -> str:
    return value.isoformat() if value else ""


def _read_snapshot(using: str):
    """On PostgreSQL, one read transaction for the whole export: every chunk sees the same
    snapshot, and the server-side cursor streams rows as they are fetched (outside a
    transaction Django declares it WITH HOLD, which makes PostgreSQL compute the whole result
    before the first row). SQLite (development, tests) would take its write lock for as long."""
    if connections[using].vendor == "postgresql":
        return transaction.atomic(using=using)
    return nullcontext()


def adjustment_csv_rows(
    *, queryset: QuerySet[Adjustment], chunk_size: int = 1000
) -> Iterator[list[str]]:
    """The header, then one row per adjustment of `queryset`, in its order.

    Rows are read as plain values (no model instances) from one streaming query, `chunk_size`
    at a time, with one query for the approvals of each chunk: an export of any size holds one
    chunk in memory and costs 1 + rows / chunk_size queries.
    """
    yield list(ADJUSTMENT_CSV_HEADER)
    username = get_user_model().USERNAME_FIELD
    if queryset.query.distinct:
        # DISTINCT would need the ordering columns among the selected values.
        ordering = queryset.query.order_by or Adjustment._meta.ordering
        queryset = Adjustment.objects.filter(pk__in=queryset.order_by().values("pk")).order_by(*ordering)
    rows = queryset.values_list(
        "pk", "created_at", "member__pomelo_user_id", "card__pomelo_card_id", "account_type",
        "direction", "amount", "reason_code", "reason_text", "state",
        f"maker__{username}", "approved_at", "completed_at",
        "pomelo_status_code", "pomelo_reference", "idempotency_key", "failure_reason",
    )
    with _read_snapshot(queryset.db):
        stream = rows.iterator(chunk_size=chunk_size)
        while chunk := list(islice(stream, chunk_size)):
            approvals: dict[int, list[str]] = {}
            given = (
                Approval.objects.filter(adjustment_id__in=[row[0] for row in chunk])
                .order_by("created_at", "id")
                .values_list("adjustment_id", f"approver__{username}", "created_at", "comment")
            )
            for adjustment_id, approver, at, comment in given:
                approvals.setdefault(adjustment_id, []).append(f"{approver} at {_iso(at)}: {comment}")
            for (pk, created_at, user_id, card_id, account_type, direction, amount, reason_code,
                 reason_text, state, maker, approved_at, completed_at, status_code, reference,
                 key, failure) in chunk:
                yield [
                    str(pk), _iso(created_at), user_id, card_id, account_type, direction, str(amount),
                    reason_code, reason_text, state, maker, " | ".join(approvals.get(pk, ())),
                    _iso(approved_at), _iso(completed_at),
                    "" if status_code is None else str(status_code), reference, key, failure,
                ]


# --- The member's timeline -----------------------------------------------------------------

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
    common = {"kind": "reward", "account_type": event.account_type, "reward_event_id": event.pk,
              "detail": f"transaction {event.transaction_id}{card}", "actor": "Pomelo"}
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
