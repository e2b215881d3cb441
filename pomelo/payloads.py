"""Reading and writing the bodies Pomelo's Loyalty API exchanges: exact amounts out, balances in.

Pure functions with no HTTP: the transport (`pomelo.client`) sends what these write and hands
back what they read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings

AMOUNT_FORMATS = ("number", "string")


def format_amount(amount: Decimal) -> str:
    """The exact decimal text of a positive, finite Decimal (`Decimal("1000.50")` → "1000.50").

    Raises ValueError for anything else: a float would already have lost precision, and a
    zero or negative amount is never a valid mint or burn.
    """
    if not isinstance(amount, Decimal):
        raise ValueError(f"amount must be a Decimal, not {type(amount).__name__}.")
    if not amount.is_finite():
        raise ValueError("amount must be a finite number.")
    if amount <= 0:
        raise ValueError("amount must be greater than zero.")
    # "f" keeps the digits as given ("1000.50" stays 1000.50) and never uses exponent notation,
    # which Pomelo might not accept ("1E+3" becomes "1000").
    return format(amount, "f")


def encode_movement_body(*, amount: Decimal, reason: str, card_id: str, amount_format: str = "number") -> str:
    """The JSON body of a mint or burn, with the amount written exactly.

    json.dumps can't write a Decimal as a number, and going through float would turn
    1000.50 into 1000.5 (or worse, 0.1 into 0.1000000000000000055...). So the amount is
    spliced in as a literal; the other fields go through json.dumps for correct escaping.
    """
    if amount_format not in AMOUNT_FORMATS:
        raise ValueError(f"amount_format must be one of {AMOUNT_FORMATS}.")
    literal = format_amount(amount)
    amount_json = literal if amount_format == "number" else json.dumps(literal)
    return f'{{"amount": {amount_json}, "reason": {json.dumps(reason)}, "card_id": {json.dumps(card_id)}}}'


def parse_payload(raw_body: str) -> dict[str, Any] | None:
    """The response's object, `{"data": {...}}` unwrapped; None when it isn't a JSON object.

    Numbers become Decimal (parse_float) so balances are never rounded by float.
    """
    try:
        parsed = json.loads(raw_body, parse_float=Decimal)
    except ValueError:
        return None
    if not isinstance(parsed, dict):
        return None
    inner = parsed.get("data")
    return inner if isinstance(inner, dict) else parsed


_ACCOUNT_TYPE_FIELDS = ("account_type", "accountType", "type", "account", "name")
_AMOUNT_FIELDS = (
    "balance",
    "available",
    "available_balance",
    "availableBalance",
    "amount",
    "value",
    "current",
)
_CONTAINER_FIELDS = ("data", "balances", "accounts", "balance")


def balances_from_payload(data: Any, *, account_types: Iterable[str] | None = None) -> dict[str, Decimal]:
    """Per-account-type balances from whatever shape Pomelo's balance answer has.

    Understands `{"points": 10, "cashback": "2.50"}`, `{"balances": {...}}`,
    `{"accounts": {...}}`, lists of `{"account_type": "points", "balance"|"amount"|
    "available": ...}`, and `{"points": {"balance": ...}}`, with or without `{"data": ...}`.
    Bare keys count only when they name a known account type (`account_types`, default
    settings.POMELO_ACCOUNT_TYPES), so ids and counters are not mistaken for balances; list
    entries that name their type are kept whatever the type. Keys come back lower-case.
    """
    known = {t.lower() for t in (settings.POMELO_ACCOUNT_TYPES if account_types is None else account_types)}
    result: dict[str, Decimal] = {}
    _collect_balances(data, known, result, depth=0)
    return result


def _collect_balances(node: Any, known: set[str], result: dict[str, Decimal], depth: int) -> None:
    if depth > 4:  # Guard against pathological nesting; real answers are two levels deep.
        return
    if isinstance(node, list):
        for item in node:
            _collect_balances(item, known, result, depth + 1)
        return
    if not isinstance(node, dict):
        return
    labelled = next(
        (node[f] for f in _ACCOUNT_TYPE_FIELDS if isinstance(node.get(f), str) and node[f]),
        None,
    )
    if labelled is not None:
        amount = _amount_of(node)
        if amount is not None:
            result.setdefault(labelled.lower(), amount)
            return
    for key, value in node.items():
        if isinstance(key, str) and key.lower() in known:
            amount = _amount_of(value)
            if amount is not None:
                result.setdefault(key.lower(), amount)
    for container in _CONTAINER_FIELDS:
        if isinstance(node.get(container), dict | list):
            _collect_balances(node[container], known, result, depth + 1)


def _amount_of(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, dict):
        for name in _AMOUNT_FIELDS:
            if name in value and not isinstance(value[name], dict):
                amount = _amount_of(value[name])
                if amount is not None:
                    return amount
        return None
    try:
        if isinstance(value, Decimal | int):
            amount = Decimal(value)
        elif isinstance(value, float):
            # Only reached when someone parsed without parse_float=Decimal; repr is the
            # shortest text that round-trips, the closest to what Pomelo wrote.
            amount = Decimal(repr(value))
        elif isinstance(value, str):
            amount = Decimal(value.strip())
        else:
            return None
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None
