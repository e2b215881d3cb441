"""Reads of the delivery inbox for the operations home: what failed, what is flagged, how far
behind processing is."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Min, Q

from webhooks.models import Delivery


@dataclass(frozen=True)
class InboxState:
    failed: int
    flagged: int
    # Stored but not processed yet: a processing that is running, or one that died mid-way.
    waiting: int
    oldest_waiting_at: datetime | None
    last_received_at: datetime | None

    def lag(self, *, now: datetime) -> timedelta | None:
        """How long the oldest unprocessed delivery has waited; None when nothing waits."""
        return None if self.oldest_waiting_at is None else now - self.oldest_waiting_at

    def silence(self, *, now: datetime) -> timedelta | None:
        """How long since Pomelo last called us; None when it never has."""
        return None if self.last_received_at is None else now - self.last_received_at


def inbox_state() -> InboxState:
    """Deliveries failed or flagged, and the inbox's lag. Two queries on the (outcome,
    received_at) and received_at indexes."""
    Outcome = Delivery.Outcome
    figures = Delivery.objects.filter(
        outcome__in=[Outcome.FAILED, Outcome.FLAGGED, Outcome.RECEIVED]
    ).aggregate(
        failed=Count("pk", filter=Q(outcome=Outcome.FAILED)),
        flagged=Count("pk", filter=Q(outcome=Outcome.FLAGGED)),
        waiting=Count("pk", filter=Q(outcome=Outcome.RECEIVED)),
        oldest_waiting=Min("received_at", filter=Q(outcome=Outcome.RECEIVED)),
    )
    last = Delivery.objects.order_by("-received_at").values_list("received_at", flat=True).first()
    return InboxState(
        failed=figures["failed"],
        flagged=figures["flagged"],
        waiting=figures["waiting"],
        oldest_waiting_at=figures["oldest_waiting"],
        last_received_at=last,
    )
