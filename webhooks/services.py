"""Webhook intake: verify, record, deduplicate and apply Pomelo's loyalty notifications."""

import ipaddress
import logging
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from rewards.audit import audit_record
from rewards.models import AuditEntry, NotificationKind
from rewards.notifications import RewardNotification
from rewards.services import reward_notification_apply
from webhooks.models import Delivery
from webhooks.payload import PayloadError, identifiers_peek, notification_parse
from webhooks.signature import SignatureError, signature_verify

logger = logging.getLogger(__name__)

Outcome = Delivery.Outcome

# Never stored: credentials of any kind that a proxy or a client might add.
_SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization", "x-csrftoken"}


@dataclass(frozen=True)
class IncomingDelivery:
    kind: NotificationKind
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes
    remote_addr: str | None


@dataclass(frozen=True)
class DeliveryResult:
    http_status: int
    body: dict
    delivery_id: int | None = None


def _address_allowed(remote_addr: str | None) -> bool:
    allowed = settings.POMELO_WEBHOOK_ALLOWED_IPS
    if not allowed:
        return True
    if not remote_addr:
        return False
    address = ipaddress.ip_address(remote_addr)
    return any(address in ipaddress.ip_network(entry, strict=False) for entry in allowed)


def _delivery_new(incoming: IncomingDelivery, **fields) -> Delivery:
    headers = {k: v for k, v in incoming.headers.items() if k not in _SECRET_HEADERS}
    return Delivery(
        kind=incoming.kind,
        endpoint=incoming.path[:300],
        headers=headers,
        body=incoming.body.decode("utf-8", errors="replace"),
        api_key=incoming.headers.get("x-api-key", "")[:100],
        remote_addr=incoming.remote_addr,
        **fields,
    )


def _delivery_reject(
    incoming: IncomingDelivery, *, status: int, error: str, message: str, field: str = ""
) -> DeliveryResult:
    event_id, key = identifiers_peek(incoming.body)
    delivery = _delivery_new(
        incoming,
        outcome=Outcome.REJECTED,
        http_status=status,
        detail=f"{error}: {message}",
        event_id=event_id,
        idempotency_key=key,
        processed_at=timezone.now(),
    )
    delivery.save()
    body = {"status": "rejected", "error": error, "message": message, "delivery_id": delivery.pk}
    if field:
        body["field"] = field
    return DeliveryResult(status, body, delivery.pk)


def _delivery_apply(*, delivery: Delivery, notification: RewardNotification) -> DeliveryResult:
    """Apply a stored delivery inside the caller's transaction.

    The ledger work and the claim on the notification share one savepoint. The claim is the
    partial unique constraint on (kind, idempotency_key) over processed deliveries: a second
    copy fails to claim, its savepoint rolls back whatever it did, and it is recorded as a
    duplicate. If processing fails, the savepoint rolls back and the delivery row, written
    before it, stays with the error.
    """
    now = timezone.now()
    claimed = Delivery.objects.filter(
        kind=notification.kind, idempotency_key=notification.idempotency_key,
        outcome__in=Delivery.CLAIMING_OUTCOMES,
    ).exclude(pk=delivery.pk)
    # A shortcut for the common, sequential redelivery; a concurrent copy that passes it is
    # still stopped by the constraint below.
    if claimed.exists():
        return _delivery_duplicate(delivery, now)
    try:
        with transaction.atomic():
            result = reward_notification_apply(notification=notification)
            Delivery.objects.filter(pk=delivery.pk).update(
                outcome=Outcome.FLAGGED if result.flagged else Outcome.PROCESSED,
                detail=result.flagged or result.summary, http_status=200, processed_at=now,
            )
    except IntegrityError as exc:
        # Lost the race for the claim (the other copy has committed), or another constraint.
        if claimed.exists():
            return _delivery_duplicate(delivery, now)
        return _delivery_failed(delivery, now, exc)
    except Exception as exc:
        return _delivery_failed(delivery, now, exc)
    body = {"status": "processed", "delivery_id": delivery.pk,
            "detail": result.flagged or result.summary}
    if result.flagged:
        body["review"] = result.flagged
    return DeliveryResult(200, body, delivery.pk)


def _delivery_duplicate(delivery: Delivery, now) -> DeliveryResult:
    Delivery.objects.filter(pk=delivery.pk).update(
        outcome=Outcome.DUPLICATE, http_status=200, processed_at=now,
        detail="duplicate: this notification was already processed",
    )
    return DeliveryResult(200, {"status": "duplicate", "delivery_id": delivery.pk}, delivery.pk)


def _delivery_failed(delivery: Delivery, now, exc: Exception) -> DeliveryResult:
    logger.error("delivery %s failed", delivery.pk, exc_info=exc)
    Delivery.objects.filter(pk=delivery.pk).update(
        outcome=Outcome.FAILED, http_status=500, processed_at=now,
        detail=f"{type(exc).__name__}: {exc}"[:2000],
    )
    return DeliveryResult(
        500,
        {"status": "failed", "error": "processing_failed",
         "message": "the notification was stored but could not be processed; retry later",
         "delivery_id": delivery.pk},
        delivery.pk,
    )


def delivery_receive(*, incoming: IncomingDelivery) -> DeliveryResult:
    """Check, record and process one webhook request. Every outcome leaves a Delivery row."""
    if not _address_allowed(incoming.remote_addr):
        return _delivery_reject(
            incoming, status=403, error="forbidden_address",
            message=f"address {incoming.remote_addr} is not in the allow-list",
        )
    try:
        signature_verify(
            headers=incoming.headers,
            body=incoming.body,
            path=incoming.path,
            keys=settings.POMELO_WEBHOOK_KEYS,
            tolerance_seconds=settings.POMELO_WEBHOOK_TOLERANCE_SECONDS,
        )
    except SignatureError as exc:
        return _delivery_reject(incoming, status=401, error="invalid_signature", message=str(exc))
    try:
        notification = notification_parse(
            kind=incoming.kind, body=incoming.body, account_types=settings.POMELO_ACCOUNT_TYPES
        )
    except PayloadError as exc:
        return _delivery_reject(
            incoming, status=400, error="invalid_payload", message=exc.message, field=exc.field
        )

    with transaction.atomic():
        delivery = _delivery_new(
            incoming,
            event_id=notification.event_id,
            idempotency_key=notification.idempotency_key,
            attempts=1,
        )
        delivery.save()
        return _delivery_apply(delivery=delivery, notification=notification)


@dataclass(frozen=True)
class ReprocessResult:
    delivery_id: int
    outcome: str
    message: str


def delivery_reprocess(
    *, delivery_id: int, actor: AbstractBaseUser | None = None, ip_address: str | None = None
) -> ReprocessResult:
    """Process a failed delivery again, from the body it arrived with; audit who asked.

    Its signature was verified when it arrived; a delivery that was rejected then is not
    eligible, nor is one that has already been processed.
    """
    result = _delivery_reprocess(delivery_id)
    audit_record(
        action=AuditEntry.Action.DELIVERY_REPROCESSED, actor=actor, ip_address=ip_address,
        data={"delivery": result.delivery_id, "outcome": result.outcome, "detail": result.message},
    )
    return result


def _delivery_reprocess(delivery_id: int) -> ReprocessResult:
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
        if delivery.outcome != Outcome.FAILED:
            return ReprocessResult(
                delivery.pk, delivery.outcome, f"not reprocessed: it is {delivery.outcome}"
            )
        Delivery.objects.filter(pk=delivery.pk).update(attempts=delivery.attempts + 1)
        try:
            notification = notification_parse(
                kind=NotificationKind(delivery.kind),
                body=delivery.body.encode("utf-8"),
                account_types=settings.POMELO_ACCOUNT_TYPES,
            )
        except PayloadError as exc:
            # The settings changed since it arrived (an account type removed, say).
            Delivery.objects.filter(pk=delivery.pk).update(detail=f"invalid_payload: {exc}")
            return ReprocessResult(delivery.pk, Outcome.FAILED, f"still invalid: {exc}")
        _delivery_apply(delivery=delivery, notification=notification)
    delivery.refresh_from_db(fields=["outcome", "detail"])
    return ReprocessResult(delivery.pk, delivery.outcome, delivery.detail)


def delivery_prune_rejected(*, older_than_days: int) -> int:
    """Delete rejected deliveries older than the retention; return how many went."""
    if older_than_days < 0:
        raise ValueError("older_than_days must not be negative")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = Delivery.objects.filter(outcome=Outcome.REJECTED, received_at__lt=cutoff).delete()
    return deleted
