"""Writing the audit trail. Every entry is a new row; nothing here updates or deletes."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser

from accounts.models import Member
from rewards.chain_links import audit_entry_append
from rewards.models import Adjustment, AuditEntry

_SECRET_WORDS = ("authorization", "token", "secret", "password", "cookie", "api_key", "apikey")


def secrets_removed(value: Any) -> Any:
    """A copy of `value` with every credential-looking key's value masked, at any depth."""
    if isinstance(value, dict):
        return {
            key: "[removed]" if any(word in str(key).lower() for word in _SECRET_WORDS)
            else secrets_removed(item)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [secrets_removed(item) for item in value]
    return value


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | None,
    ip_address: str | None = None,
    adjustment: Adjustment | None = None,
    member: Member | None = None,
    from_state: str = "",
    to_state: str = "",
    comment: str = "",
    data: dict | None = None,
) -> AuditEntry:
    """Append one audit entry, linked to the chain. Call it inside the transaction of the
    change it records, after locking that change's rows (see rewards.chain_links)."""
    if member is None and adjustment is not None:
        member = adjustment.member
    return audit_entry_append(entry=AuditEntry(
        action=action,
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_name=actor.get_username() if actor is not None else "system",
        ip_address=ip_address,
        adjustment=adjustment,
        member=member,
        from_state=from_state,
        to_state=to_state,
        comment=comment,
        data=secrets_removed(data or {}),
    ))
