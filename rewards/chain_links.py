"""Linking a new audit or ledger entry to its chain, inside the transaction that writes it.

The audit trail is one chain: its head row is locked (select_for_update) before the entry is
inserted, so concurrent writers append one after the other and entry ids follow the chain.
Lock order: a transaction that audits locks the head after its own rows (adjustment, user,
delivery) and before any reward account; nothing locks a reward account and then audits.

Each reward account is a chain of its ledger entries; posting already holds the account's row
lock, so its last entry is the head and no other lock is needed.
"""

from django.db import IntegrityError, transaction

from rewards.chain import (
    AUDIT_FIELDS,
    GENESIS,
    LEDGER_FIELDS,
    audit_hash,
    canonical_data,
    ledger_hash,
)
from rewards.models import AuditEntry, ChainHead, LedgerEntry


def audit_head_lock() -> ChainHead:
    """The audit chain's head, locked until the caller's transaction ends."""
    heads = ChainHead.objects.select_for_update(of=("self",))
    try:
        return heads.get(name=ChainHead.AUDIT)
    except ChainHead.DoesNotExist:
        pass
    # A database emptied by hand (or a test's flush) lost the row: start it again from the
    # last entry. Two writers may try at once; the unique name keeps one, the other locks it.
    last = AuditEntry.objects.order_by("-id").values_list("id", "entry_hash").first()
    try:
        with transaction.atomic():
            ChainHead.objects.create(
                name=ChainHead.AUDIT,
                entry_id=last[0] if last else None,
                entry_hash=last[1] if last else GENESIS,
                length=AuditEntry.objects.count(),
            )
    except IntegrityError:
        pass
    return heads.get(name=ChainHead.AUDIT)


@transaction.atomic(savepoint=False)
def audit_entry_append(*, entry: AuditEntry) -> AuditEntry:
    """Insert a new (unsaved) audit entry as the audit chain's next link."""
    entry.data = canonical_data(entry.data)
    head = audit_head_lock()
    entry.prev_hash = head.entry_hash
    entry.entry_hash = audit_hash(
        prev_hash=entry.prev_hash, values={name: getattr(entry, name) for name in AUDIT_FIELDS}
    )
    entry.save(force_insert=True)
    head.entry_id, head.entry_hash, head.length = entry.pk, entry.entry_hash, head.length + 1
    head.save(update_fields=["entry_id", "entry_hash", "length", "updated_at"])
    return entry


def ledger_entry_link(*, entry: LedgerEntry) -> None:
    """Set a new (unsaved) ledger entry's hashes. The caller holds its account's row lock."""
    prev = (
        LedgerEntry.objects.filter(account_id=entry.account_id)
        .order_by("-id").values_list("entry_hash", flat=True).first()
    )
    entry.prev_hash = prev or GENESIS
    entry.entry_hash = ledger_hash(
        prev_hash=entry.prev_hash, values={name: getattr(entry, name) for name in LEDGER_FIELDS}
    )
