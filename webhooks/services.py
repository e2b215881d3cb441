"""Webhook intake: verify, record and deduplicate Pomelo's loyalty notifications.

Before the signature holds, the caller is a stranger: the request is refused (4xx) and kept
as `rejected`. Once it holds, the body is Pomelo's: it is kept byte for byte with one INSERT
and answered 200 whatever it contains. The inbox worker (webhooks.inbox) applies it later;
what the ledger cannot read is `flagged` there for a person, with the reason, and moves no
money.
"""

import base64
import functools
import ipaddress
import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from kernel.errors import BackofficeError
from kernel.locks import lock_one
from rewards.audit import audit_record
from rewards.models import AuditEntry, NotificationKind
from rewards.notification_data import RewardNotification
from rewards.services import NotificationNeedsReview, reward_notification_apply
from webhooks.claims import delivery_claimer, delivery_row_insert
from webhooks.models import Delivery
from webhooks.payload import PayloadError, PayloadRules, identifiers_peek, notification_parse
from webhooks.signature import SignatureError, signature_verify

logger = logging.getLogger(__name__)

Outcome = Delivery.Outcome

# Never stored: credentials of any kind that a proxy or a client might add.
_SECRET_HEADERS = {"authorization", "cookie", "proxy-authorization", "x-csrftoken"}
# A notification that raced another one for its reward (see reward_notification_apply) is
# applied again; a third failure is ours and answered 500.
_APPLY_ATTEMPTS = 3
_PRUNE_CHUNK = 2000


@dataclass(frozen=True)
class IncomingDelivery:
    # The URL's notification kind; None on the single URL, where event_id names it.
    kind: NotificationKind | None
    path: str  # the path (with query) that received the request, for the record
    headers: dict[str, str]  # lower-case names
    body: bytes
    remote_addr: str | None
    # What x-endpoint may say: the public path Pomelo was given and the path we saw.
    endpoints: tuple[str, ...] = ()


@dataclass(frozen=True)
class DeliveryResult:
    http_status: int
    body: dict
    delivery_id: int | None = None


@dataclass(frozen=True)
class _Reading:
    """A signed body as the payload module read it: a notification, or why not."""

    kind: str
    event_id: str
    idempotency_key: str
    notification: RewardNotification | None = None
    problem: str = ""
    field: str = ""


def _read(route_kind: NotificationKind | None, body: bytes) -> _Reading:
    rules = PayloadRules.from_settings()
    try:
        notification = notification_parse(kind=route_kind, body=body, rules=rules)
    except PayloadError as exc:
        kind = route_kind or rules.kind_of_event(exc.event_id)
        return _Reading(
            kind=kind.value if kind else "", event_id=exc.event_id,
            idempotency_key=exc.idempotency_key, problem=exc.message, field=exc.field,
        )
    return _Reading(
        kind=notification.kind.value, event_id=notification.event_id,
        idempotency_key=notification.idempotency_key, notification=notification,
    )


# --- Storing what arrived -----------------------------------------------------------------


def storable_text(text: str, max_length: int | None = None) -> str:
    """`text` as PostgreSQL can store it: NUL characters and unpaired surrogates escaped
    (never dropped, so what arrived stays readable), then cut to `max_length`."""
    if "\x00" in text:
        text = text.replace("\x00", "\\x00")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if max_length is None else text[:max_length]


def _storable_address(address: str | None) -> str | None:
    # A database inet column refuses an IPv6 zone ("fe80::1%eth0"); the zone says nothing
    # about who called.
    return address.split("%", 1)[0] if address else None


def _delivery_new(incoming: IncomingDelivery, **fields) -> Delivery:
    headers = {
        storable_text(name): storable_text(value)
        for name, value in incoming.headers.items() if name.lower() not in _SECRET_HEADERS
    }
    return Delivery(
        endpoint=storable_text(incoming.path, 300),
        headers=headers,
        body=incoming.body,
        api_key=storable_text(incoming.headers.get("x-api-key", ""), 100),
        remote_addr=_storable_address(incoming.remote_addr),
        **fields,
    )


@functools.lru_cache(maxsize=8)
def _allowed_networks(entries: tuple[str, ...]) -> tuple:
    networks = []
    for entry in entries:
        network = ipaddress.ip_network(entry, strict=False)
        mapped = network.network_address.ipv4_mapped if network.version == 6 else None
        if mapped is not None and network.prefixlen >= 96:
            network = ipaddress.ip_network(f"{mapped}/{network.prefixlen - 96}")
        networks.append(network)
    return tuple(networks)


def address_allowed(remote_addr: str | None) -> bool:
    """Whether the caller may call the webhooks. An IPv4-mapped IPv6 address (::ffff:a.b.c.d,
    what a dual-stack socket reports for an IPv4 peer) matches its IPv4 entries."""
    allowed = settings.POMELO_WEBHOOK_ALLOWED_IPS
    if not allowed:
        return True
    if not remote_addr:
        return False
    address = ipaddress.ip_address(remote_addr)
    if address.version == 6 and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return any(address in network for network in _allowed_networks(tuple(allowed)))


def delivery_reject(
    *, incoming: IncomingDelivery, status: int, error: str, message: str, note: str = ""
) -> DeliveryResult:
    """Refuse a request that is not provably Pomelo's, and keep it as it arrived.

    `note` says what of the request is not kept (a body above the size limit, say).
    """
    event_id, key = identifiers_peek(incoming.body)
    detail = f"{error}: {message}" + (f" ({note})" if note else "")
    with transaction.atomic():
        delivery = _delivery_new(
            incoming,
            kind=incoming.kind.value if incoming.kind else "",
            outcome=Outcome.REJECTED,
            http_status=status,
            detail=storable_text(detail),
            event_id=event_id,
            idempotency_key=key,
            processed_at=timezone.now(),
        )
        delivery.save()
    return DeliveryResult(
        status,
        {"status": "rejected", "error": error, "message": message, "delivery_id": delivery.pk},
        delivery.pk,
    )


# --- Keeping what Pomelo signed -----------------------------------------------------------


def _copy_insert(copy: Delivery) -> None:
    # A copy's outcome claims nothing, so nothing can stop its INSERT.
    if not delivery_row_insert(copy):
        raise RuntimeError(f"delivery copy of {copy.idempotency_key} was refused a row")


def _delivery_copy(incoming: IncomingDelivery, kept: Delivery) -> DeliveryResult:
    """A second copy of a notification another delivery already claims: kept as a duplicate,
    or as a key reuse when the bytes differ (nobody should apply that without looking)."""
    claimer = _claimer(kept)
    if claimer is None:
        raise RuntimeError(
            f"delivery of {kept.kind or '-'} {kept.idempotency_key} lost its claim to nobody"
        )
    claimer_id, claimer_body, claimer_pruned = claimer
    now = timezone.now()
    # Once the claimer's body is pruned the bytes cannot be compared: a late copy of an old,
    # applied notification is far likelier than a key reused for another body.
    if claimer_body == incoming.body or claimer_pruned:
        copy = _delivery_new(
            incoming, kind=kept.kind, event_id=kept.event_id, idempotency_key=kept.idempotency_key,
            outcome=Outcome.DUPLICATE, http_status=200, processed_at=now,
            detail=f"duplicate of delivery #{claimer_id}",
        )
        _copy_insert(copy)
        return DeliveryResult(200, {"status": "duplicate", "delivery_id": copy.pk}, copy.pk)
    review = f"same idempotency_key as delivery #{claimer_id}, different body: not applied"
    copy = _delivery_new(
        incoming, kind=kept.kind, event_id=kept.event_id, idempotency_key=kept.idempotency_key,
        outcome=Outcome.KEY_REUSED, http_status=200, processed_at=now, review=review, detail=review,
    )
    _copy_insert(copy)
    return DeliveryResult(
        200, {"status": "flagged", "delivery_id": copy.pk, "review": review}, copy.pk
    )


# --- Applying what Pomelo signed ----------------------------------------------------------


def _claimer(delivery: Delivery) -> tuple[int, bytes, bool] | None:
    """The delivery that already holds this one's (kind, idempotency_key): its id, its body
    and whether that body was pruned."""
    return delivery_claimer(kind=delivery.kind, idempotency_key=delivery.idempotency_key,
                            other_than=delivery.pk)


def _delivery_repeat(
    delivery: Delivery, body: bytes, claimer: tuple[int, bytes], now: datetime
) -> DeliveryResult:
    """A second delivery of a claimed key: a duplicate if the bytes are the same; otherwise
    Pomelo reused the key for another body, which nobody should apply without looking."""
    claimer_id, claimer_body, claimer_pruned = claimer
    identity = {"kind": delivery.kind, "event_id": delivery.event_id,
                "idempotency_key": delivery.idempotency_key}
    if claimer_body == body or claimer_pruned:
        Delivery.objects.filter(pk=delivery.pk).update(
            **identity, outcome=Outcome.DUPLICATE, http_status=200, processed_at=now, review="",
            detail=f"duplicate of delivery #{claimer_id}: already processed",
        )
        return DeliveryResult(200, {"status": "duplicate", "delivery_id": delivery.pk}, delivery.pk)
    review = f"same idempotency_key as delivery #{claimer_id}, different body: not applied"
    Delivery.objects.filter(pk=delivery.pk).update(
        **identity, outcome=Outcome.KEY_REUSED, http_status=200, processed_at=now, review=review,
        detail=review,
    )
    return DeliveryResult(
        200, {"status": "flagged", "delivery_id": delivery.pk, "review": review}, delivery.pk
    )


def _delivery_failed(delivery: Delivery, now: datetime, exc: Exception) -> DeliveryResult:
    logger.error("delivery %s failed", delivery.pk, exc_info=exc)
    Delivery.objects.filter(pk=delivery.pk).update(
        outcome=Outcome.FAILED, http_status=500, processed_at=now,
        detail=storable_text(f"{type(exc).__name__}: {exc}", 2000),
    )
    return DeliveryResult(
        500,
        {"status": "failed", "error": "processing_failed",
         "message": "the notification was stored but could not be processed; retry later",
         "delivery_id": delivery.pk},
        delivery.pk,
    )


def _delivery_settle(
    *, delivery: Delivery, body: bytes, reading: _Reading, reread: bool = False
) -> DeliveryResult:
    """Claim and apply a stored, signed delivery inside the caller's transaction.

    The ledger work and the claim on the notification share one savepoint. The claim is the
    partial unique constraint on (kind, idempotency_key) over processed and flagged
    deliveries: a second copy fails to claim, its savepoint rolls back whatever it did, and it
    is recorded as a duplicate (or a key reuse). If processing fails, the savepoint rolls back
    and the delivery row, written before it, stays with the error. `reread`: the body was read
    again (reprocessing), so its kind and ids are written with the outcome.
    """
    now = timezone.now()
    # A shortcut for the common, sequential redelivery; a concurrent copy that passes it is
    # still stopped by the constraint below.
    claimer = _claimer(delivery)
    if claimer is not None:
        return _delivery_repeat(delivery, body, claimer, now)
    problem, field = reading.problem, reading.field
    for attempt in range(1, _APPLY_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                if problem:
                    outcome, detail, review = Outcome.FLAGGED, f"{problem}: no money moved", problem
                else:
                    result = reward_notification_apply(notification=reading.notification)
                    outcome = Outcome.FLAGGED if result.flagged else Outcome.PROCESSED
                    detail = result.flagged or result.summary
                    review = result.flagged or result.review
                identity = (
                    {"kind": delivery.kind, "event_id": delivery.event_id,
                     "idempotency_key": delivery.idempotency_key} if reread else {}
                )
                Delivery.objects.filter(pk=delivery.pk).update(
                    **identity, outcome=outcome, detail=storable_text(detail),
                    review=storable_text(review, 500), http_status=200, processed_at=now,
                )
        except NotificationNeedsReview as exc:
            # Rolled back: nothing created, no money moved. Keep it flagged instead.
            problem, field = exc.reason, ""
            continue
        except IntegrityError as exc:
            # Lost the race for the claim (the other copy has committed), or for the reward
            # (another notification created it first: read it again), or another constraint.
            claimer = _claimer(delivery)
            if claimer is not None:
                return _delivery_repeat(delivery, body, claimer, now)
            if attempt < _APPLY_ATTEMPTS:
                continue
            return _delivery_failed(delivery, now, exc)
        except Exception as exc:
            return _delivery_failed(delivery, now, exc)
        if outcome == Outcome.FLAGGED:
            answer = {"status": "flagged", "delivery_id": delivery.pk, "review": review}
            if field:
                answer["field"] = field
        else:
            answer = {"status": "processed", "delivery_id": delivery.pk, "detail": detail}
            if review:
                answer["review"] = review
        return DeliveryResult(200, answer, delivery.pk)
    return _delivery_failed(delivery, now, RuntimeError("no attempt settled the delivery"))


def delivery_receive(*, incoming: IncomingDelivery) -> DeliveryResult:
    """Check and record one webhook request. Every outcome leaves a Delivery row.

    A signed delivery costs one INSERT: the partial unique constraint on (kind,
    idempotency_key) is the claim: a second copy's INSERT stores nothing (ON CONFLICT DO
    NOTHING) and the copy is kept as a duplicate. The body is read (and the ledger moved) by
    the inbox worker, or right here after the INSERT when WEBHOOK_APPLY_INLINE is on
    (development and the tests).
    """
    if not address_allowed(incoming.remote_addr):
        return delivery_reject(
            incoming=incoming, status=403, error="forbidden_address",
            message=f"address {incoming.remote_addr} is not in the allow-list",
        )
    try:
        signature_verify(
            headers=incoming.headers,
            body=incoming.body,
            endpoints=incoming.endpoints or (incoming.path,),
            keys=settings.POMELO_WEBHOOK_KEYS,
            tolerance_seconds=settings.POMELO_WEBHOOK_TOLERANCE_SECONDS,
        )
    except SignatureError as exc:
        return delivery_reject(incoming=incoming, status=401, error="invalid_signature", message=str(exc))

    event_id, key = identifiers_peek(incoming.body)
    kind = incoming.kind or PayloadRules.from_settings().kind_of_event(event_id)
    delivery = _delivery_new(
        incoming, kind=kind.value if kind else "", event_id=storable_text(event_id, 200),
        idempotency_key=storable_text(key, 200), http_status=200,
    )
    if not delivery_row_insert(delivery):
        return _delivery_copy(incoming, delivery)
    if settings.WEBHOOK_APPLY_INLINE:
        from webhooks.inbox import inbox_apply_inline

        inbox_apply_inline(delivery_id=delivery.pk)
    return DeliveryResult(200, {"status": "received", "delivery_id": delivery.pk}, delivery.pk)


@dataclass(frozen=True)
class ReprocessResult:
    delivery_id: int
    outcome: str
    message: str


def delivery_reprocess(
    *, delivery_id: int, actor: AbstractBaseUser | None = None, ip_address: str | None = None
) -> ReprocessResult:
    """Read and apply a failed or flagged delivery again, from the bytes it arrived with (after
    the mapping or the settings were fixed, say); audit who asked.

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
        delivery = lock_one(Delivery.objects, pk=delivery_id)
        if delivery.outcome not in Delivery.REPROCESSABLE_OUTCOMES:
            return ReprocessResult(
                delivery.pk, delivery.outcome, f"not reprocessed: it is {delivery.outcome}"
            )
        Delivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1)
        body = bytes(delivery.body)
        # The kind it was stored with: its URL's, or the event_id's on the single URL.
        reading = _read(NotificationKind(delivery.kind) if delivery.kind else None, body)
        delivery.kind, delivery.event_id = reading.kind, reading.event_id
        delivery.idempotency_key = reading.idempotency_key
        _delivery_settle(delivery=delivery, body=body, reading=reading, reread=True)
    delivery.refresh_from_db(fields=["outcome", "detail"])
    return ReprocessResult(delivery.pk, delivery.outcome, delivery.detail)


def delivery_bodies_prune(*, older_than_days: int, archive: BinaryIO | None = None) -> int:
    """Empty the bodies of applied and duplicate deliveries processed more than
    `older_than_days` ago; return how many. With `archive` (a binary file), each is first
    written there as a JSON line (body in base64), so nothing Pomelo signed is lost.

    The rows stay: they hold the claims that make a late copy a duplicate, and the audit
    entries of reprocessing name them. Flagged, failed, key-reused and waiting deliveries keep
    their bodies: a person or the worker still needs them. The ledger never reads bodies.
    """
    if older_than_days < 0:
        raise ValueError("older_than_days must not be negative")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    due = Delivery.objects.filter(
        outcome__in=[Outcome.PROCESSED, Outcome.DUPLICATE], processed_at__lt=cutoff,
        body_pruned_at__isnull=True,
    ).order_by("pk")
    pruned, last = 0, 0
    while True:
        with transaction.atomic():
            chunk = list(
                due.filter(pk__gt=last).select_for_update(skip_locked=True, of=("self",))
                .values("pk", "kind", "event_id", "idempotency_key", "outcome", "received_at",
                        "processed_at", "headers", "body")[:_PRUNE_CHUNK]
            )
            if not chunk:
                return pruned
            if archive is not None:
                for row in chunk:
                    # `due` selects only rows with processed_at before the cutoff, never null.
                    processed_at = row["processed_at"]
                    assert processed_at is not None
                    archive.write(json.dumps({
                        **row, "body": base64.b64encode(bytes(row["body"])).decode("ascii"),
                        "received_at": row["received_at"].isoformat(),
                        "processed_at": processed_at.isoformat(),
                    }).encode() + b"\n")
                archive.flush()
            ids = [row["pk"] for row in chunk]
            Delivery.objects.filter(pk__in=ids).update(body=b"", body_pruned_at=timezone.now())
            pruned, last = pruned + len(ids), ids[-1]


def delivery_prune_rejected(*, older_than_days: int) -> int:
    """Delete rejected deliveries older than the retention; return how many went.

    Only requests we refused (unsigned, wrongly signed, from outside the allow-list, of the
    wrong method or size) are ever rejected: signed ones, flagged or not, are kept.
    """
    if older_than_days < 0:
        raise BackofficeError("older_than_days must not be negative")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    deleted, _ = Delivery.objects.filter(outcome=Outcome.REJECTED, received_at__lt=cutoff).delete()
    return deleted
