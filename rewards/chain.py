"""The canonical encoding of audit and ledger entries, and their chain hashes.

docs/audit-chain.md specifies this for auditors who re-implement the check: any change here
breaks every stored hash, so the encoding is frozen. Values are read as the database returns
them, so the writer normalises what it hashes the same way (see `canonical_*`).
"""

import hashlib
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.utils.ipv6 import clean_ipv6_address

# The previous hash of the first entry of a chain.
GENESIS = "0" * 64

AUDIT_FIELDS = (
    "created_at", "action", "actor_id", "actor_name", "ip_address", "adjustment_id",
    "member_id", "from_state", "to_state", "comment", "data",
)
LEDGER_FIELDS = (
    "created_at", "account_id", "bucket", "amount", "reward_event_id", "adjustment_id",
    "description",
)

_CENTS = Decimal("0.01")


def canonical_time(value: datetime) -> str:
    """UTC, always six digits of microseconds, `Z`: 2026-11-28T09:16:04.000123Z."""
    if value.tzinfo is None:
        raise ValueError("chain hashes need timezone-aware times")
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def canonical_amount(value: Decimal) -> str:
    """Plain notation, exactly two decimals, `-` for negatives: the column's numeric(18, 2)."""
    return format(Decimal(value).quantize(_CENTS), "f")


def canonical_ip(value: str | None) -> str | None:
    """The address as the database gives it back: IPv6 compressed and lower case (RFC 5952),
    an IPv4-mapped one with its IPv4 part dotted; Django stores it so, PostgreSQL's inet too."""
    if not value:
        return None
    return clean_ipv6_address(value) if ":" in value else value


def canonical_data(value: Any) -> Any:
    """The JSON value as stored: a round trip turns tuples into lists and keys into strings."""
    return json.loads(json.dumps(value))


# One encoder for every entry: json.dumps would build a new one per call with these options.
_ENCODER = json.JSONEncoder(
    ensure_ascii=True, separators=(",", ":"), sort_keys=True, allow_nan=False
)


def _encode(kind: str, prev_hash: str, values: Iterable[Any]) -> bytes:
    return _ENCODER.encode([kind, prev_hash, *values]).encode("ascii")


def audit_encoding(*, prev_hash: str, values: dict[str, Any]) -> bytes:
    """The bytes hashed for an audit entry; `values` holds AUDIT_FIELDS as the database does."""
    row = dict(values)
    row["created_at"] = canonical_time(row["created_at"])
    row["ip_address"] = canonical_ip(row["ip_address"])
    return _encode("audit", prev_hash, (row[name] for name in AUDIT_FIELDS))


def ledger_encoding(*, prev_hash: str, values: dict[str, Any]) -> bytes:
    """The bytes hashed for a ledger entry; `values` holds LEDGER_FIELDS."""
    row = dict(values)
    row["created_at"] = canonical_time(row["created_at"])
    row["amount"] = canonical_amount(row["amount"])
    return _encode("ledger", prev_hash, (row[name] for name in LEDGER_FIELDS))


def chain_hash(encoding: bytes) -> str:
    return hashlib.sha256(encoding).hexdigest()


def audit_hash(*, prev_hash: str, values: dict[str, Any]) -> str:
    return chain_hash(audit_encoding(prev_hash=prev_hash, values=values))


def ledger_hash(*, prev_hash: str, values: dict[str, Any]) -> str:
    return chain_hash(ledger_encoding(prev_hash=prev_hash, values=values))
