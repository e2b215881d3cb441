"""The one place that knows the loyalty notification's JSON shape.

Pomelo documents only `event_id` and `idempotency_key`. Everything else is our assumption
until Pomelo confirms the schema (see the README); a schema change is a change to this file.
"""

import json
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from django.utils.dateparse import parse_datetime

from rewards.models import NotificationKind
from rewards.notifications import RewardNotification

MAX_ID_LENGTH = 64
MAX_KEY_LENGTH = 200


class PayloadError(ValueError):
    """The body cannot be accepted. `field` names the culprit (or "body")."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


def _refuse_constant(name: str) -> None:
    raise PayloadError("body", f"{name} is not a valid JSON number")


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body, parse_float=Decimal, parse_constant=_refuse_constant)
    except UnicodeDecodeError as exc:
        raise PayloadError("body", "body is not UTF-8 encoded JSON") from exc
    except json.JSONDecodeError as exc:
        raise PayloadError("body", f"malformed JSON: {exc.msg} at position {exc.pos}") from exc
    if not isinstance(data, dict):
        raise PayloadError("body", f"body must be a JSON object, got {type(data).__name__}")
    return data


def _string(
    data: dict, name: str, *, required: bool, max_length: int = MAX_ID_LENGTH
) -> str | None:
    value = data.get(name)
    if value is None or value == "":
        if required:
            raise PayloadError(name, f"{name} is required and must be a non-empty string")
        return None
    if not isinstance(value, str):
        raise PayloadError(name, f"{name} must be a string, got {type(value).__name__}")
    value = value.strip()
    if not value:
        raise PayloadError(name, f"{name} must not be blank")
    if len(value) > max_length:
        raise PayloadError(name, f"{name} is longer than {max_length} characters")
    return value


def _transaction_id(data: dict) -> str | None:
    if data.get("transaction_id") is not None:
        return _string(data, "transaction_id", required=False)
    transaction = data.get("transaction")
    if transaction is None:
        return None
    if not isinstance(transaction, dict):
        raise PayloadError("transaction", "transaction must be an object with an id")
    value = _string(transaction, "id", required=False)
    return value


def _amount(data: dict, kind: NotificationKind) -> Decimal | None:
    raw = data.get("amount")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal | str):
        raise PayloadError("amount", "amount must be a decimal number or a decimal string")
    try:
        amount = Decimal(raw.strip() if isinstance(raw, str) else raw)
    except InvalidOperation as exc:
        raise PayloadError("amount", f"amount {raw!r} is not a decimal number") from exc
    if not amount.is_finite():
        raise PayloadError("amount", "amount must be a finite number")
    if amount.as_tuple().exponent < -2 and amount != amount.quantize(Decimal("0.01")):
        raise PayloadError("amount", f"amount {raw} has more than 2 decimals")
    if amount.copy_abs() >= Decimal("1e16"):
        raise PayloadError("amount", "amount is too large")
    if amount < 0 and kind != NotificationKind.CONFIRMATION:
        raise PayloadError("amount", f"amount must not be negative on a {kind.label.lower()}")
    return amount.quantize(Decimal("0.01"))


def _account_type(data: dict, account_types: list[str]) -> str | None:
    value = _string(data, "account_type", required=False)
    if value is None:
        return None
    normalized = value.lower()
    if normalized not in account_types:
        raise PayloadError(
            "account_type",
            f"unknown account_type {value!r}; expected one of {', '.join(account_types)}",
        )
    return normalized


def _last_four(data: dict) -> str:
    value = _string(data, "card_last_four", required=False, max_length=4)
    if value is None:
        return ""
    if len(value) != 4 or not value.isdigit():
        raise PayloadError("card_last_four", "card_last_four must be exactly four digits")
    return value


def _created_at(data: dict) -> datetime | None:
    value = _string(data, "created_at", required=False)
    if value is None:
        return None
    try:
        parsed = parse_datetime(value)
    except ValueError:
        parsed = None
    if parsed is None:
        raise PayloadError("created_at", "created_at must be an ISO 8601 date and time")
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def identifiers_peek(body: bytes) -> tuple[str, str]:
    """Best-effort event_id and idempotency_key of any body, for the inbox record."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return "", ""
    if not isinstance(data, dict):
        return "", ""
    ids = (data.get("event_id"), data.get("idempotency_key"))
    return tuple(v[:MAX_KEY_LENGTH] if isinstance(v, str) else "" for v in ids)


def notification_parse(
    *, kind: NotificationKind, body: bytes, account_types: list[str]
) -> RewardNotification:
    data = _json_object(body)
    return RewardNotification(
        kind=kind,
        event_id=_string(data, "event_id", required=True, max_length=MAX_KEY_LENGTH),
        idempotency_key=_string(data, "idempotency_key", required=True, max_length=MAX_KEY_LENGTH),
        user_id=_string(data, "user_id", required=False),
        card_id=_string(data, "card_id", required=False),
        card_last_four=_last_four(data),
        transaction_id=_transaction_id(data),
        account_type=_account_type(data, account_types),
        amount=_amount(data, kind),
        occurred_at=_created_at(data),
    )
