"""Reads of manual adjustments: the lists, totals and actions staff see, and what a settlement
needs."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import (
    Count,
    Exists,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.utils import timezone

from accounts.models import BalanceSnapshot, Member, RewardAccount
from kernel import permissions as perms
from rewards.models import Adjustment, Approval, AuditEntry
from rewards.policies import (
    cancel_refusal,
    debit_refusal,
    decide_refusal,
    resume_refusal,
    review_refusal,
)
from rewards.selectors.ledger import CENT


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
        return str(Adjustment.Direction(self.direction).label)


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
    """The services' own rules (rewards.policies), asked without changing anything."""
    State = Adjustment.State
    now = timezone.now()
    pending = adjustment.state == State.PENDING_APPROVAL
    blocker = review_refusal(
        adjustment, user=user, now=now,
        already_approved=pending and adjustment.approvals.filter(approver_id=user.pk).exists(),
    )
    effect = adjustment_balance_effect(adjustment=adjustment) if pending else None
    approve_blocker = (
        debit_refusal(adjustment, available=effect.available_before) if effect is not None else ""
    )
    unknown = adjustment.state == State.OUTCOME_UNKNOWN
    decide_blocker = decide_refusal(adjustment, user=user) if unknown else ""
    return AdjustmentActions(
        can_review=not blocker,
        review_blocker=blocker,
        can_approve=not blocker and not approve_blocker,
        approve_blocker=approve_blocker,
        can_cancel=not cancel_refusal(adjustment, user=user),
        can_resume=not resume_refusal(adjustment, user=user, now=now),
        can_decide=unknown and not decide_blocker,
        decide_blocker=decide_blocker,
        can_check_balance=user.has_perm(perms.CHECK_BALANCE),
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
