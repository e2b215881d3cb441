"""Reads for the operations home: what needs a person now (tiles) and the last 30 days per
account type (charts). The inbox's figures are webhooks.inbox_selectors'.

Each figure is aggregated in the database, a handful of queries in all, so the home page costs
the same whether the tables hold a thousand rows or millions. Days are calendar days in the
current time zone (TIME_ZONE), the zone staff read the charts in.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import Avg, Count, DurationField, ExpressionWrapper, F, Max, Min, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

from kernel import permissions as perms
from rewards.models import Adjustment, ReconciliationRun, RewardEvent
from rewards.policies import submission_lease
from rewards.selectors import adjustments_waiting_for

State = Adjustment.State
CHART_DAYS = 30
EXPIRING_SOON = timedelta(days=1)
# A failed adjustment is final; the tile counts the recent ones, the list holds them all.
RECENT_FAILURES = timedelta(days=7)

# --- Tiles --------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovalsWaiting:
    count: int
    oldest_created_at: datetime | None
    expiring_within_a_day: int
    # Of those, the ones the user could approve now (None when the user cannot approve).
    waiting_for_user: int | None

    def oldest_age(self, *, now: datetime) -> timedelta | None:
        return None if self.oldest_created_at is None else now - self.oldest_created_at


def approvals_waiting(*, user, now: datetime | None = None) -> ApprovalsWaiting:
    """Requests pending approval that have not run out, how old the oldest is, how many run
    out within a day; and those `user` could approve, when they approve."""
    now = now or timezone.now()
    figures = Adjustment.objects.filter(state=State.PENDING_APPROVAL, expires_at__gt=now).aggregate(
        count=Count("pk"),
        oldest=Min("created_at"),
        expiring=Count("pk", filter=Q(expires_at__lte=now + EXPIRING_SOON)),
    )
    mine = None
    if user.has_perm(perms.APPROVE_ADJUSTMENT):
        mine = adjustments_waiting_for(user=user).count()
    return ApprovalsWaiting(
        count=figures["count"],
        oldest_created_at=figures["oldest"],
        expiring_within_a_day=figures["expiring"],
        waiting_for_user=mine,
    )


@dataclass(frozen=True)
class AdjustmentsInTrouble:
    failed_recently: int
    outcome_unknown: int
    # Sent, but the worker recorded nothing within its lease (died, or awaits its resume).
    submitting_lease_over: int
    # Approved, yet not sent within a lease: the queued task was lost.
    approved_not_sent: int

    @property
    def stuck(self) -> int:
        return self.outcome_unknown + self.submitting_lease_over + self.approved_not_sent

    @property
    def total(self) -> int:
        return self.failed_recently + self.stuck


def adjustments_in_trouble(*, now: datetime | None = None) -> AdjustmentsInTrouble:
    """Adjustments Pomelo refused lately, and those whose submission is stuck (the same rules
    as rewards.policies.submission_overdue and selectors.adjustments_unsettled)."""
    now = now or timezone.now()
    figures = Adjustment.objects.filter(
        state__in=[State.FAILED, State.OUTCOME_UNKNOWN, State.SUBMITTING, State.APPROVED]
    ).aggregate(
        failed=Count("pk", filter=Q(state=State.FAILED, completed_at__gte=now - RECENT_FAILURES)),
        unknown=Count("pk", filter=Q(state=State.OUTCOME_UNKNOWN)),
        lease_over=Count(
            "pk",
            filter=Q(state=State.SUBMITTING)
            & (Q(lease_expires_at__lte=now) | Q(lease_expires_at__isnull=True)),
        ),
        not_sent=Count("pk", filter=Q(state=State.APPROVED, updated_at__lte=now - submission_lease())),
    )
    return AdjustmentsInTrouble(
        failed_recently=figures["failed"],
        outcome_unknown=figures["unknown"],
        submitting_lease_over=figures["lease_over"],
        approved_not_sent=figures["not_sent"],
    )


@dataclass(frozen=True)
class ReconciliationState:
    last_finished: ReconciliationRun | None
    running: ReconciliationRun | None

    @property
    def accounts_drifting(self) -> int | None:
        return None if self.last_finished is None else self.last_finished.accounts_drifting


def reconciliation_state() -> ReconciliationState:
    """The latest finished reconciliation (its drifting accounts) and a run under way, if any.

    One read of the latest few finished or running runs: a single run at a time holds the
    reconciliation lock and a killed one is marked failed, so the last finished is among them;
    a second read only if it is not."""
    Status = ReconciliationRun.Status
    latest = ReconciliationRun.objects.order_by("-started_at", "-id")
    recent = list(latest.filter(status__in=[Status.FINISHED, Status.RUNNING])[:5])
    finished = next((run for run in recent if run.status == Status.FINISHED), None)
    if finished is None and len(recent) == 5:
        finished = latest.filter(status=Status.FINISHED).first()
    return ReconciliationState(
        last_finished=finished,
        running=next((run for run in recent if run.status == Status.RUNNING), None),
    )


# --- Charts -------------------------------------------------------------------------------


@dataclass
class AccountTypeSeries:
    """One account type's figures, one value per day of `OperationsCharts.days`."""

    account_type: str
    rewards_pending: list[int] = field(default_factory=list)
    rewards_confirmed: list[int] = field(default_factory=list)
    rewards_cancelled: list[int] = field(default_factory=list)
    credits: list[Decimal] = field(default_factory=list)
    debits: list[Decimal] = field(default_factory=list)
    # Mean hours from request to (last) approval, of the requests approved that day.
    approval_hours: list[float | None] = field(default_factory=list)


@dataclass(frozen=True)
class OperationsCharts:
    days: list[date]
    series: list[AccountTypeSeries]


def _local_day_range(*, now: datetime, days: int) -> tuple[list[date], datetime]:
    today = timezone.localtime(now).date()
    first = today - timedelta(days=days - 1)
    start = timezone.make_aware(datetime.combine(first, datetime.min.time()))
    return [first + timedelta(days=n) for n in range(days)], start


def _rewards_per_day(column: str, since: datetime) -> dict[tuple[str, date], int]:
    # COUNT(*), not COUNT(id): the (column, account_type) index answers alone, without reading
    # the table (an index-only scan).
    rows = (
        RewardEvent.objects.filter(**{f"{column}__gte": since})
        .annotate(day=TruncDate(column))
        .order_by()
        .values("account_type", "day")
        .annotate(n=Count("*"))
    )
    return {(row["account_type"], row["day"]): row["n"] for row in rows}


def operations_charts(*, now: datetime | None = None, days: int = CHART_DAYS) -> OperationsCharts:
    """Per account type and day: rewards that became pending, confirmed or cancelled; the
    amounts credited and debited by adjustments that succeeded; the mean approval turnaround.
    Five grouped queries."""
    now = now or timezone.now()
    day_list, since = _local_day_range(now=now, days=days)

    pending = _rewards_per_day("pending_at", since)
    confirmed = _rewards_per_day("confirmed_at", since)
    cancelled = _rewards_per_day("cancelled_at", since)

    moved: dict[tuple[str, date, str], Decimal] = defaultdict(Decimal)
    for row in (
        Adjustment.objects.filter(state=State.SUCCEEDED, completed_at__gte=since)
        .annotate(day=TruncDate("completed_at"))
        .order_by()
        .values("account_type", "day", "direction")
        .annotate(total=Sum("amount"))
    ):
        moved[(row["account_type"], row["day"], row["direction"])] = Decimal(row["total"]).quantize(
            Decimal("0.01")
        )

    turnaround: dict[tuple[str, date], float] = {}
    for row in (
        Adjustment.objects.filter(approved_at__gte=since)
        .annotate(
            day=TruncDate("approved_at"),
            waited=ExpressionWrapper(F("approved_at") - F("created_at"), output_field=DurationField()),
        )
        .order_by()
        .values("account_type", "day")
        .annotate(mean=Avg("waited", output_field=DurationField()), slowest=Max("waited"))
    ):
        mean = row["mean"]
        if isinstance(mean, timedelta):
            hours = mean.total_seconds() / 3600
        else:  # SQLite averages the stored microseconds
            hours = float(mean) / 3_600_000_000
        turnaround[(row["account_type"], row["day"])] = round(hours, 2)

    seen = {key[0] for source in (pending, confirmed, cancelled, turnaround) for key in source}
    seen |= {key[0] for key in moved}
    account_types = list(settings.POMELO_ACCOUNT_TYPES) + sorted(seen - set(settings.POMELO_ACCOUNT_TYPES))

    series = []
    for account_type in account_types:
        s = AccountTypeSeries(account_type=account_type)
        for day in day_list:
            s.rewards_pending.append(pending.get((account_type, day), 0))
            s.rewards_confirmed.append(confirmed.get((account_type, day), 0))
            s.rewards_cancelled.append(cancelled.get((account_type, day), 0))
            s.credits.append(moved.get((account_type, day, Adjustment.Direction.CREDIT), Decimal("0.00")))
            s.debits.append(moved.get((account_type, day, Adjustment.Direction.DEBIT), Decimal("0.00")))
            s.approval_hours.append(turnaround.get((account_type, day)))
        series.append(s)
    return OperationsCharts(days=day_list, series=series)
