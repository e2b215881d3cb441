"""The inbox worker's services: apply stored deliveries in batches, and report the backlog.

A batch is claimed with FOR UPDATE SKIP LOCKED, oldest first, so several workers (on several
machines) share the queue without waiting on each other; its notifications are applied in one
transaction by `reward_notifications_apply`. A batch that cannot be applied as a whole is
rolled back and applied one delivery at a time, each in its own savepoint, so one bad
notification holds up nobody else. A delivery whose apply fails is tried again later with
backoff, and after WEBHOOK_APPLY_MAX_ATTEMPTS it is marked failed, for staff to see.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from kernel.bulk_update import rows_update
from rewards.models import NotificationKind
from rewards.services import NotificationNeedsReview, NotificationResult, reward_notification_apply
from rewards.services.notifications_batch import reward_notifications_apply
from webhooks.models import Delivery
from webhooks.services import _read, _Reading, storable_text

logger = logging.getLogger(__name__)

Outcome = Delivery.Outcome
# A notification that raced another one for its reward is applied again (see
# reward_notification_apply); a third such failure counts as a failed attempt.
_RACE_ATTEMPTS = 3
_RETRY_CAP = timedelta(hours=1)
_UPDATED_FIELDS = ["outcome", "detail", "review", "processed_at", "attempts", "retry_at"]


@dataclass(frozen=True)
class BatchReport:
    claimed: int = 0
    processed: int = 0
    flagged: int = 0
    retrying: int = 0
    failed: int = 0
    # Whether the batch had to be applied one delivery at a time.
    one_by_one: bool = False


def _settled(delivery: Delivery, reading: _Reading,
             result: NotificationResult | NotificationNeedsReview, now: datetime) -> None:
    if reading.problem:
        delivery.outcome, delivery.review = Outcome.FLAGGED, reading.problem
        delivery.detail = f"{reading.problem}: no money moved"
    elif isinstance(result, NotificationNeedsReview):
        delivery.outcome, delivery.detail, delivery.review = Outcome.FLAGGED, result.reason, result.reason
    elif result.flagged:
        delivery.outcome, delivery.detail, delivery.review = Outcome.FLAGGED, result.flagged, result.flagged
    else:
        delivery.outcome, delivery.detail, delivery.review = Outcome.PROCESSED, result.summary, result.review
    delivery.detail = storable_text(delivery.detail)
    delivery.review = storable_text(delivery.review, 500)
    delivery.processed_at, delivery.retry_at = now, None


def _failed_attempt(delivery: Delivery, exc: Exception, now: datetime) -> None:
    """Try again later with backoff, or, out of attempts, hand it to staff as failed."""
    logger.error("delivery %s could not be applied (attempt %s)", delivery.pk, delivery.attempts,
                 exc_info=exc)
    error = storable_text(f"{type(exc).__name__}: {exc}", 2000)
    if delivery.attempts >= settings.WEBHOOK_APPLY_MAX_ATTEMPTS:
        delivery.outcome, delivery.processed_at, delivery.retry_at = Outcome.FAILED, now, None
        delivery.detail = error
        delivery.review = storable_text(
            f"could not be applied after {delivery.attempts} attempts: {error}", 500
        )
        return
    delay = timedelta(seconds=settings.WEBHOOK_APPLY_RETRY_BASE_SECONDS * 2 ** (delivery.attempts - 1))
    delivery.retry_at = now + min(delay, _RETRY_CAP)
    delivery.detail = storable_text(f"attempt {delivery.attempts} failed, retrying: {error}", 2000)


def _apply_together(deliveries: list[Delivery], readings: list[_Reading], now: datetime) -> None:
    readable = [i for i, r in enumerate(readings) if not r.problem]
    results = reward_notifications_apply(notifications=[readings[i].notification for i in readable])
    by_index = dict(zip(readable, results, strict=True))
    for index, (delivery, reading) in enumerate(zip(deliveries, readings, strict=True)):
        _settled(delivery, reading, by_index.get(index), now)


def _apply_alone(delivery: Delivery, reading: _Reading, now: datetime) -> None:
    """One delivery in its own savepoint, as the intake applied it before batches."""
    if reading.problem:
        _settled(delivery, reading, None, now)
        return
    for attempt in range(1, _RACE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                result = reward_notification_apply(notification=reading.notification)
        except NotificationNeedsReview as exc:
            result = exc
        except IntegrityError as exc:
            # Another transaction created the reward (or member, card) first: read it again.
            if attempt < _RACE_ATTEMPTS:
                continue
            _failed_attempt(delivery, exc, now)
            return
        except Exception as exc:
            _failed_attempt(delivery, exc, now)
            return
        _settled(delivery, reading, result, now)
        return


class _ApplyAlone(Exception):
    """The batch could not be applied as a whole: roll it back, apply each on its own."""

    def __init__(self, delivery_ids: list[int], cause: Exception):
        super().__init__(f"{type(cause).__name__}: {cause}")
        self.delivery_ids = delivery_ids


def _due(now: datetime):
    return (
        Delivery.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(outcome=Outcome.RECEIVED)
        .filter(Q(retry_at__isnull=True) | Q(retry_at__lte=now))
        .only("id", "kind", "body", "attempts", "received_at")
    )


def _report(deliveries: list[Delivery], one_by_one: bool) -> BatchReport:
    outcomes = [d.outcome for d in deliveries]
    return BatchReport(
        claimed=len(deliveries),
        processed=outcomes.count(Outcome.PROCESSED),
        flagged=outcomes.count(Outcome.FLAGGED),
        retrying=outcomes.count(Outcome.RECEIVED),
        failed=outcomes.count(Outcome.FAILED),
        one_by_one=one_by_one,
    )


def _reading(delivery: Delivery) -> _Reading:
    # The kind it was stored with: its URL's, or the event_id's on the single URL.
    return _read(NotificationKind(delivery.kind) if delivery.kind else None, bytes(delivery.body))


def _batch_apply(*, limit: int, delivery_ids: list[int] | None = None) -> BatchReport:
    """Inside the caller's transaction: claim, apply together, record. Raises _ApplyAlone."""
    now = timezone.now()
    queue = _due(now)
    if delivery_ids is not None:
        queue = queue.filter(pk__in=delivery_ids)
    deliveries = list(queue.order_by("received_at", "id")[:limit])
    if not deliveries:
        return BatchReport()
    for delivery in deliveries:
        delivery.attempts += 1
    readings = [_reading(d) for d in deliveries]
    try:
        with transaction.atomic():
            _apply_together(deliveries, readings, now)
    except Exception as exc:
        raise _ApplyAlone([d.pk for d in deliveries], exc) from exc
    applied_at = timezone.now()  # when the batch's ledger work was done, for the lag figures
    for delivery in deliveries:
        if delivery.processed_at is not None:
            delivery.processed_at = applied_at
    rows_update(deliveries, _UPDATED_FIELDS)
    return _report(deliveries, one_by_one=False)


def _apply_each(delivery_ids: list[int]) -> BatchReport:
    """Each delivery in a transaction of its own, so none holds more than one account's lock
    (a long fallback transaction would take accounts in arrival order and deadlock with the
    batches of other workers). One taken by another worker meanwhile is skipped."""
    done = []
    for delivery_id in delivery_ids:
        with transaction.atomic():
            now = timezone.now()
            delivery = _due(now).filter(pk=delivery_id).first()
            if delivery is None:
                continue
            delivery.attempts += 1
            _apply_alone(delivery, _reading(delivery), now)
            rows_update([delivery], _UPDATED_FIELDS)
            done.append(delivery)
    return _report(done, one_by_one=True)


def _apply(*, limit: int, delivery_ids: list[int] | None = None) -> BatchReport:
    try:
        with transaction.atomic():
            return _batch_apply(limit=limit, delivery_ids=delivery_ids)
    except _ApplyAlone as failed:
        logger.warning("batch of %s deliveries (#%s…) applied one by one: %s",
                       len(failed.delivery_ids), failed.delivery_ids[0], failed)
        return _apply_each(failed.delivery_ids)


def inbox_batch_apply(*, limit: int | None = None) -> BatchReport:
    """Claim up to `limit` received deliveries due now, oldest first, and apply them in one
    transaction; what another worker holds is skipped. A batch that fails as a whole is
    rolled back and its deliveries applied one per transaction.

    The worker's entry point: called outside any transaction, each batch commits on its own.
    """
    return _apply(limit=limit or settings.WEBHOOK_APPLY_BATCH_SIZE)


def inbox_apply_inline(*, delivery_id: int) -> BatchReport:
    """Apply one delivery the intake has just stored (WEBHOOK_APPLY_INLINE), through the
    batch path. A failure stays with the delivery, which remains stored either way."""
    try:
        return _apply(limit=1, delivery_ids=[delivery_id])
    except Exception:
        logger.exception("delivery %s was stored but not applied; the inbox worker retries it",
                         delivery_id)
        return BatchReport()


@dataclass(frozen=True)
class InboxLag:
    waiting: int  # received, not yet applied (including those waiting for a retry)
    retrying: int  # of those, after a failed attempt
    failed: int  # out of attempts: a person has to look
    oldest_received_at: datetime | None

    def oldest_age_seconds(self, now: datetime | None = None) -> float:
        if self.oldest_received_at is None:
            return 0.0
        return max(0.0, ((now or timezone.now()) - self.oldest_received_at).total_seconds())


def inbox_lag() -> InboxLag:
    """The backlog: how many signed deliveries wait to be applied, and since when."""
    waiting = Delivery.objects.filter(outcome=Outcome.RECEIVED).aggregate(
        waiting=Count("id"), retrying=Count("id", filter=Q(retry_at__isnull=False)),
        oldest=Min("received_at"),
    )
    return InboxLag(
        waiting=waiting["waiting"], retrying=waiting["retrying"],
        failed=Delivery.objects.filter(outcome=Outcome.FAILED).count(),
        oldest_received_at=waiting["oldest"],
    )
