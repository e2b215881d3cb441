"""Anchoring the chain heads, and verifying both chains (`verify_audit`).

See docs/audit-chain.md. Verification streams: entries are read in id order a chunk at a time
and only the previous hash of the current chain is kept, so memory does not grow with the
tables.
"""

import hashlib
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Subquery
from django.utils import timezone

from rewards.audit import audit_record
from rewards.chain import AUDIT_FIELDS, GENESIS, LEDGER_FIELDS, audit_hash, ledger_hash
from rewards.chain_links import audit_head_lock
from rewards.models import (
    AuditEntry,
    ChainAnchor,
    ChainAnchorHead,
    ChainHead,
    ChainVerification,
    LedgerEntry,
)

CHUNK = 5000
HEADS_BATCH = 2000


# --- anchors ----------------------------------------------------------------------------------


def _ledger_heads():
    """Every account's last ledger entry, by account, with whether an anchor recorded it."""
    last_ids = LedgerEntry.objects.values("account_id").annotate(last=Max("id")).values("last")
    return (
        LedgerEntry.objects.filter(id__in=Subquery(last_ids))
        .annotate(anchored=Exists(ChainAnchorHead.objects.filter(entry_id=OuterRef("id"))))
        .order_by("account_id")
        .values_list("account_id", "id", "entry_hash", "anchored")
    )


@transaction.atomic(savepoint=False)
def chain_anchor_record(
    *, reason: str, actor: User | None = None, note: str = ""
) -> ChainAnchor:
    """Record the current heads of both chains. Joins the caller's transaction (a finance
    export records its anchor in the export's own)."""
    # The ledger heads first, without the audit head's lock: the scan reads every account, and
    # audit writers should not wait for it.
    digest = hashlib.sha256()
    accounts, new_heads = 0, []
    for account_id, entry_id, entry_hash, anchored in _ledger_heads().iterator(chunk_size=CHUNK):
        accounts += 1
        digest.update(f"ledger:{account_id}:{entry_id}:{entry_hash}\n".encode("ascii"))
        if not anchored:
            new_heads.append((account_id, entry_id, entry_hash))
    # The audit head's lock makes the audit part exact: no entry is appended meanwhile.
    head = audit_head_lock()
    digest.update(f"audit:{head.entry_id or 0}:{head.entry_hash}\n".encode("ascii"))
    anchor = ChainAnchor.objects.create(
        reason=reason,
        created_by=actor if actor is not None and actor.is_authenticated else None,
        audit_entry_id=head.entry_id, audit_hash=head.entry_hash, audit_length=head.length,
        ledger_accounts=accounts, ledger_heads_recorded=len(new_heads),
        digest=digest.hexdigest(), note=note,
    )
    for start in range(0, len(new_heads), HEADS_BATCH):
        ChainAnchorHead.objects.bulk_create(
            ChainAnchorHead(anchor=anchor, account_id=a, entry_id=e, entry_hash=h)
            for a, e, h in new_heads[start:start + HEADS_BATCH]
        )
    return anchor


@transaction.atomic(durable=True)
def chain_anchor_take(
    *, reason: str = ChainAnchor.Reason.DAILY, actor: User | None = None,
    note: str = "",
) -> ChainAnchor:
    """The daily anchor (task and `audit_anchor`): its own transaction."""
    return chain_anchor_record(reason=reason, actor=actor, note=note)


# --- verification -----------------------------------------------------------------------------


@dataclass
class ChainProblem:
    chain: str  # "audit", "ledger account <id>", "anchor #<id>", "audit head"
    entry_id: int | None
    what: str
    expected: str
    found: str

    def as_dict(self) -> dict:
        return {"chain": self.chain, "entry": self.entry_id, "what": self.what,
                "expected": self.expected, "found": self.found}

    def __str__(self) -> str:
        entry = f"entry #{self.entry_id}" if self.entry_id is not None else "no entry"
        return (f"{self.chain}: {entry}: {self.what}; expected {self.expected}, "
                f"found {self.found}")


@dataclass
class ChainReport:
    audit_entries: int = 0
    ledger_entries: int = 0
    ledger_accounts: int = 0
    anchors_checked: int = 0
    problems: list[ChainProblem] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def sound(self) -> bool:
        return not self.problems

    @property
    def entries_per_second(self) -> float:
        total = self.audit_entries + self.ledger_entries
        return total / self.seconds if self.seconds > 0 else float("inf")


def _stream(queryset) -> Iterator[tuple]:
    # A server-side cursor on PostgreSQL (fetchmany on SQLite): a chunk in memory at a time.
    return queryset.iterator(chunk_size=CHUNK)


def _audit_walk(report: ChainReport, head: ChainHead) -> None:
    """The audit chain in id order; also checks that the head (read before the walk, so later
    appends do not matter) is still there: entries removed from the end leave it dangling."""
    prev, seen_head = GENESIS, head.entry_id is None
    broken = False
    rows = AuditEntry.objects.order_by("id").values_list("id", "prev_hash", "entry_hash",
                                                         *AUDIT_FIELDS)
    for entry_id, prev_hash, entry_hash, *values in _stream(rows):
        report.audit_entries += 1
        if broken:
            continue  # counted, not checked: past the first break every link fails
        if prev_hash != prev:
            report.problems.append(ChainProblem("audit", entry_id, "previous hash", prev,
                                                prev_hash or "(empty)"))
            broken = True
            continue
        computed = audit_hash(prev_hash=prev_hash, values=dict(zip(AUDIT_FIELDS, values,
                                                                    strict=True)))
        if computed != entry_hash:
            report.problems.append(ChainProblem("audit", entry_id, "entry hash", computed,
                                                entry_hash or "(empty)"))
            broken = True
            continue
        prev = entry_hash
        if entry_id == head.entry_id:
            seen_head = True
            if entry_hash != head.entry_hash or report.audit_entries != head.length:
                report.problems.append(ChainProblem(
                    "audit head", entry_id, "head entry and length",
                    f"{head.entry_hash} after {head.length} entries",
                    f"{entry_hash} after {report.audit_entries} entries",
                ))
                broken = True
    if not broken and not seen_head:
        report.problems.append(ChainProblem("audit head", head.entry_id, "head entry",
                                            head.entry_hash, "no such entry"))


def _ledger_walk(report: ChainReport) -> None:
    """Every account's chain: entries by account, then id. Reports each account's first
    break, at most one per account, and stops reporting after 20 accounts."""
    account, prev, broken = None, GENESIS, False
    rows = LedgerEntry.objects.order_by("account_id", "id").values_list(
        "id", "prev_hash", "entry_hash", *LEDGER_FIELDS
    )
    broken_accounts = 0
    for entry_id, prev_hash, entry_hash, *values in _stream(rows):
        report.ledger_entries += 1
        row = dict(zip(LEDGER_FIELDS, values, strict=True))
        if row["account_id"] != account:
            account, prev, broken = row["account_id"], GENESIS, False
            report.ledger_accounts += 1
        if broken or broken_accounts >= 20:
            continue
        chain = f"ledger account {account}"
        if prev_hash != prev:
            report.problems.append(ChainProblem(chain, entry_id, "previous hash", prev,
                                                prev_hash or "(empty)"))
            broken, broken_accounts = True, broken_accounts + 1
            continue
        computed = ledger_hash(prev_hash=prev_hash, values=row)
        if computed != entry_hash:
            report.problems.append(ChainProblem(chain, entry_id, "entry hash", computed,
                                                entry_hash or "(empty)"))
            broken, broken_accounts = True, broken_accounts + 1
            continue
        prev = entry_hash


def _anchors_check(report: ChainReport) -> None:
    """Each anchored head must still be there with the hash it had: a chain rewritten from
    its start (every hash recomputed) passes the walk but not this."""
    current_audit = Subquery(
        AuditEntry.objects.filter(id=OuterRef("audit_entry_id")).values("entry_hash")[:1]
    )
    anchors = ChainAnchor.objects.order_by("id").annotate(current=current_audit).values_list(
        "id", "audit_entry_id", "audit_hash", "current"
    )
    for anchor_id, entry_id, anchored, current in _stream(anchors):
        report.anchors_checked += 1
        if entry_id is not None and current != anchored:
            report.problems.append(ChainProblem(
                f"anchor #{anchor_id}", entry_id, "audit head anchored", anchored,
                current or "no such entry",
            ))
    current_ledger = Subquery(
        LedgerEntry.objects.filter(id=OuterRef("entry_id")).values("entry_hash")[:1]
    )
    heads = ChainAnchorHead.objects.order_by("id").annotate(current=current_ledger).values_list(
        "anchor_id", "account_id", "entry_id", "entry_hash", "current"
    )
    mismatches = 0
    for anchor_id, account_id, entry_id, anchored, current in _stream(heads):
        if current != anchored and mismatches < 20:
            mismatches += 1
            report.problems.append(ChainProblem(
                f"anchor #{anchor_id}", entry_id, f"ledger head of account {account_id}",
                anchored, current or "no such entry",
            ))


def chains_check() -> ChainReport:
    """Walk both chains and the anchors; nothing is written."""
    started = time.perf_counter()
    report = ChainReport()
    head = ChainHead.objects.filter(name=ChainHead.AUDIT).first()
    if head is None:
        head = ChainHead(name=ChainHead.AUDIT, entry_id=None, entry_hash=GENESIS, length=0)
    _audit_walk(report, head)
    _ledger_walk(report)
    _anchors_check(report)
    report.seconds = time.perf_counter() - started
    return report


def chain_verification_run() -> tuple[ChainVerification, ChainReport]:
    """Check both chains and record the result; a broken chain is also audited, so everyone
    who reads the audit trail sees it."""
    verification = ChainVerification.objects.create()
    report = chains_check()
    with transaction.atomic(durable=True):
        verification.finished_at = timezone.now()
        verification.sound = report.sound
        verification.audit_entries = report.audit_entries
        verification.ledger_entries = report.ledger_entries
        verification.ledger_accounts = report.ledger_accounts
        verification.anchors_checked = report.anchors_checked
        verification.problems = [problem.as_dict() for problem in report.problems]
        verification.seconds = report.seconds
        verification.save()
        if not report.sound:
            audit_record(
                action=AuditEntry.Action.CHAIN_BROKEN, actor=None,
                comment=f"verify_audit found {len(report.problems)} broken link(s); first: "
                        f"{report.problems[0]}",
                data={"verification": verification.pk,
                      "problems": verification.problems[:20]},
            )
    return verification, report
