"""What someone with the database's superuser could do to history, for the chain tests.

On PostgreSQL the append-only triggers are switched off the way such a person would
(`session_replication_role = replica`, for this transaction only); SQLite has no triggers.
"""

from contextlib import contextmanager

from django.core.management import call_command
from django.db import connection

from rewards.chain import AUDIT_FIELDS, GENESIS, LEDGER_FIELDS, audit_hash, ledger_hash


@contextmanager
def triggers_off():
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")
        try:
            yield cursor
        finally:
            if connection.vendor == "postgresql":
                cursor.execute("SET LOCAL session_replication_role = origin")


def tamper(sql: str, params=()) -> None:
    with triggers_off() as cursor:
        cursor.execute(sql, params)


def swap_ids(table: str, first: int, second: int) -> None:
    """Reorder two entries: each takes the other's place (id)."""
    assert table in {"rewards_auditentry", "rewards_ledgerentry"}
    sql = f"UPDATE {table} SET id = %s WHERE id = %s"  # noqa: S608 - one of the two names above
    with triggers_off() as cursor:
        cursor.execute(sql, [-1, first])
        cursor.execute(sql, [first, second])
        cursor.execute(sql, [second, -1])


def audit_chain_rewrite() -> None:
    """Recompute every audit hash and the head, as a forger who knows the encoding would."""
    from rewards.models import AuditEntry, ChainHead

    prev, last, count = GENESIS, None, 0
    rows = list(AuditEntry.objects.order_by("id").values("id", *AUDIT_FIELDS))
    with triggers_off() as cursor:
        for row in rows:
            entry_hash = audit_hash(prev_hash=prev, values=row)
            cursor.execute(
                "UPDATE rewards_auditentry SET prev_hash = %s, entry_hash = %s WHERE id = %s",
                [prev, entry_hash, row["id"]],
            )
            prev, last, count = entry_hash, row["id"], count + 1
        cursor.execute(
            "UPDATE rewards_chainhead SET entry_id = %s, entry_hash = %s, length = %s "
            "WHERE name = %s", [last, prev, count, ChainHead.AUDIT],
        )


def ledger_chain_rewrite(account_id: int) -> None:
    from rewards.models import LedgerEntry

    prev = GENESIS
    rows = list(LedgerEntry.objects.filter(account_id=account_id).order_by("id")
                .values("id", *LEDGER_FIELDS))
    with triggers_off() as cursor:
        for row in rows:
            entry_hash = ledger_hash(prev_hash=prev, values=row)
            cursor.execute(
                "UPDATE rewards_ledgerentry SET prev_hash = %s, entry_hash = %s WHERE id = %s",
                [prev, entry_hash, row["id"]],
            )
            prev = entry_hash


def verify(capsys) -> tuple[int, str, str]:
    """Run `manage.py verify_audit`: its exit status, output and errors."""
    try:
        call_command("verify_audit")
        code = 0
    except SystemExit as exc:
        code = exc.code
    captured = capsys.readouterr()
    return code, captured.out, captured.err
