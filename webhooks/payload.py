"""The one place that knows the loyalty notification's JSON shape.

Pomelo documents only `event_id` and `idempotency_key`. Everything else is our assumption
until Pomelo confirms the schema (see the README); a schema change is a change to this file
or to the settings in `PayloadRules`.

`notification_parse` turns any bytes into a `RewardNotification` or raises `PayloadError`,
never anything else: a signed body it cannot read is kept and flagged for review by the
intake, so the error says why, and carries whatever identifiers could be read.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.utils.dateparse import parse_datetime

from rewards.models import NotificationKind
from rewards.notification_data import RewardNotification

MAX_ID_LENGTH = 64
MAX_KEY_LENGTH = 200
# The ledger's balance columns are numeric(18, 2).
MAX_AMOUNT = Decimal("1e16")
# A plain decimal: ASCII digits, an optional minus and fraction. No exponent, no "+", no
# spaces or underscores, no other script's digits (all of which Decimal() would accept).
_PLAIN_DECIMAL = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)

_KINDS = {kind.value: kind for kind in NotificationKind}
# Pomelo's sample event ids. Used when POMELO_WEBHOOK_EVENT_KINDS is not set.
DEFAULT_EVENT_KINDS = {
    "loyalty-pending": NotificationKind.PENDING.value,
    "loyalty-confirm": NotificationKind.CONFIRMATION.value,
    "loyalty-cancel": NotificationKind.CANCELLATION.value,
}


@dataclass(frozen=True)
class PayloadRules:
    """What we assume about the fields Pomelo has not documented; each one is a setting."""

    account_types: tuple[str, ...]
    amount_decimals: int = 2
    # Notification kinds whose amount may be negative (a confirmation may lower a balance).
    negative_amount_kinds: frozenset[str] = frozenset({NotificationKind.CONFIRMATION.value})
    # event_id (lower case) -> notification kind.
    event_kinds: Mapping[str, str] | None = None

    @classmethod
    def from_settings(cls) -> PayloadRules:
        return cls(
            account_types=tuple(settings.POMELO_ACCOUNT_TYPES),
            amount_decimals=settings.POMELO_WEBHOOK_AMOUNT_DECIMALS,
            negative_amount_kinds=frozenset(settings.POMELO_WEBHOOK_NEGATIVE_AMOUNT_KINDS),
            event_kinds=settings.POMELO_WEBHOOK_EVENT_KINDS,
        )

    def kind_of_event(self, event_id: str) -> NotificationKind | None:
        kinds = DEFAULT_EVENT_KINDS if self.event_kinds is None else self.event_kinds
        kind = kinds.get(event_id.strip().lower()) if event_id else None
        return _KINDS.get(kind)


class PayloadError(ValueError):
    """The body cannot be read as a notification. `field` names the culprit (or "body").

    `event_id` and `idempotency_key` are what could be read anyway ("" otherwise), so the
    flagged delivery still deduplicates and can be found.
    """

    def __init__(self, field: str, message: str, *, event_id: str = "", idempotency_key: str = ""):
        super().__init__(message)
        self.field = field
        self.message = message
        self.event_id = event_id
        self.idempotency_key = idempotency_key

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class JsonNumber(str):
    """A JSON number kept as the text Pomelo sent, so nothing is rounded or converted (an
    integer past Python's 4,300-digit limit would raise on conversion)."""


def _refuse_constant(name: str) -> None:
    raise PayloadError("body", f"{name} is not a valid JSON number")


def _object_without_repeated_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last of two equal keys; which one Pomelo meant is for a person.
    data = dict(pairs)
    if len(data) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise PayloadError("body", f"key {_shown(key)} appears more than once in one object")
            seen.add(key)
    return data


def _shown(value: Any, limit: int = 40) -> str:
    """A value for a message staff read: repr, shortened, escapes for anything unprintable."""
    text = ascii(value) if isinstance(value, str) else ascii(str(value))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _type_name(value: Any) -> str:
    if isinstance(value, JsonNumber):
        return "number"
    return {bool: "boolean", str: "string", dict: "object", list: "array"}.get(type(value), "null")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("body", f"body is not UTF-8 (byte {exc.start})") from exc
    try:
        data = json.loads(
            text,
            parse_float=JsonNumber,
            parse_int=JsonNumber,
            parse_constant=_refuse_constant,
            object_pairs_hook=_object_without_repeated_keys,
        )
    except json.JSONDecodeError as exc:
        raise PayloadError("body", f"malformed JSON: {exc.msg} at position {exc.pos}") from exc
    except RecursionError as exc:
        raise PayloadError("body", "JSON nested too deeply") from exc
    if not isinstance(data, dict):
        raise PayloadError("body", f"body must be a JSON object, got {_type_name(data)}")
    return data


def _text(
    data: dict, name: str, *, max_length: int = MAX_ID_LENGTH, label: str = ""
) -> str | None:
    """An optional string field: stripped, printable, bounded. None when absent or empty."""
    label = label or name
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str) or isinstance(value, JsonNumber):
        raise PayloadError(label, f"{label} must be a string, got {_type_name(value)}")
    value = value.strip()
    if not value:
        raise PayloadError(label, f"{label} must not be blank")
    if len(value) > max_length:
        raise PayloadError(label, f"{label} is longer than {max_length} characters")
    if not value.isprintable():
        raise PayloadError(label, f"{label} {_shown(value)} contains control or unpaired characters")
    return value


def _identifier(data: dict, name: str) -> str:
    value = _text(data, name, max_length=MAX_KEY_LENGTH)
    if value is None:
        raise PayloadError(name, f"{name} is required and must be a non-empty string")
    return value


def _identifiers(data: dict) -> tuple[str, str, PayloadError | None]:
    """event_id and idempotency_key ("" when unreadable), and the first problem with them."""
    found, problem = [], None
    for name in ("event_id", "idempotency_key"):
        try:
            found.append(_identifier(data, name))
        except PayloadError as exc:
            found.append("")
            problem = problem or exc
    return found[0], found[1], problem


def _transaction_id(data: dict) -> str | None:
    if data.get("transaction_id") is not None:
        return _text(data, "transaction_id")
    transaction = data.get("transaction")
    if transaction is None:
        return None
    if not isinstance(transaction, dict):
        raise PayloadError("transaction", "transaction must be an object with an id")
    return _text(transaction, "id", label="transaction.id")


def _amount(data: dict, kind: NotificationKind, rules: PayloadRules) -> Decimal | None:
    raw = data.get("amount")
    if raw is None:
        return None
    if not isinstance(raw, str):  # JsonNumber is a str too
        raise PayloadError("amount", f"amount must be a decimal number or string, got {_type_name(raw)}")
    if not _PLAIN_DECIMAL.fullmatch(raw):
        raise PayloadError("amount", f"amount {_shown(raw)} is not a plain decimal number")
    try:
        amount = Decimal(raw)
    except InvalidOperation as exc:  # unreachable after the pattern; kept as a guard
        raise PayloadError("amount", f"amount {_shown(raw)} is not a decimal number") from exc
    if amount.copy_abs() >= MAX_AMOUNT:
        raise PayloadError("amount", "amount is too large")
    quantum = Decimal(1).scaleb(-rules.amount_decimals)
    if amount != amount.quantize(quantum):
        raise PayloadError(
            "amount", f"amount {_shown(raw)} has more than {rules.amount_decimals} decimals"
        )
    if amount < 0 and kind.value not in rules.negative_amount_kinds:
        raise PayloadError("amount", f"amount must not be negative on a {kind.label.lower()}")
    if amount == 0:
        amount = abs(amount)  # no "-0.00" in the ledger
    return amount.quantize(Decimal("0.01"))


def _account_type(data: dict, rules: PayloadRules) -> str | None:
    value = _text(data, "account_type")
    if value is None:
        return None
    normalized = value.lower()
    if normalized not in rules.account_types:
        raise PayloadError(
            "account_type",
            f"unknown account_type {_shown(value)}; expected one of {', '.join(rules.account_types)}",
        )
    return normalized


def _last_four(data: dict) -> str:
    value = _text(data, "card_last_four", max_length=MAX_ID_LENGTH)
    if value is None:
        return ""
    if len(value) != 4 or not re.fullmatch(r"[0-9]{4}", value, re.ASCII):
        raise PayloadError("card_last_four", f"card_last_four {_shown(value)} is not four digits")
    return value


def _created_at(data: dict) -> datetime | None:
    value = _text(data, "created_at")
    if value is None:
        return None
    try:
        parsed = parse_datetime(value)
        if parsed is not None:
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=UTC)
            parsed = parsed.astimezone(UTC)
    except (ValueError, OverflowError) as exc:
        raise PayloadError("created_at", f"created_at {_shown(value)} is out of range") from exc
    if parsed is None:
        raise PayloadError("created_at", f"created_at {_shown(value)} is not an ISO 8601 date and time")
    return parsed


def _kind(route_kind: NotificationKind | None, event_id: str, rules: PayloadRules) -> NotificationKind:
    """The notification's kind: the URL's, or the event_id's on the single URL."""
    named = rules.kind_of_event(event_id)
    if route_kind is None:
        if named is None:
            raise PayloadError(
                "event_id", f"event_id {_shown(event_id)} is not a loyalty notification type we know"
            )
        return named
    if named is not None and named != route_kind:
        raise PayloadError(
            "event_id",
            f"event_id {_shown(event_id)} names a {named.label.lower()}, "
            f"but it arrived at the {route_kind.label.lower()} URL",
        )
    return route_kind


def notification_parse(
    *, kind: NotificationKind | None, body: bytes, rules: PayloadRules
) -> RewardNotification:
    """Read one notification. `kind` is the URL's kind, or None for the single URL (the kind
    then comes from `event_id`). Raises PayloadError, and only that, when it cannot."""
    data = _json_object(body)
    event_id, idempotency_key, problem = _identifiers(data)
    try:
        if problem is not None:
            raise problem
        kind = _kind(kind, event_id, rules)
        return RewardNotification(
            kind=kind,
            event_id=event_id,
            idempotency_key=idempotency_key,
            user_id=_text(data, "user_id"),
            card_id=_text(data, "card_id"),
            card_last_four=_last_four(data),
            transaction_id=_transaction_id(data),
            account_type=_account_type(data, rules),
            amount=_amount(data, kind, rules),
            occurred_at=_created_at(data),
        )
    except PayloadError as exc:
        exc.event_id, exc.idempotency_key = event_id, idempotency_key
        raise


GLANCE_FIELDS = ("user_id", "transaction_id", "amount", "account_type")


def notification_glance(body: bytes) -> dict[str, str]:
    """What a person needs to recognise a delivery in a list (member, transaction, amount as
    written, account type), read as leniently as the body allows: text and numbers only, numbers
    as the digits sent (never a float). Never raises: an unreadable body gives {}."""
    try:
        data = _json_object(body)
    except PayloadError:
        return {}
    return {name: str(data[name]) for name in GLANCE_FIELDS if isinstance(data.get(name), str) and data[name]}


def identifiers_peek(body: bytes) -> tuple[str, str]:
    """Best-effort event_id and idempotency_key of any body, for the inbox record of a request
    we refused: never raises."""
    try:
        data = _json_object(body)
    except PayloadError:
        return "", ""
    event_id, idempotency_key, _ = _identifiers(data)
    return event_id, idempotency_key
