"""Chain the audit entries and ledger entries written before the chains existed, in id order,
and make the anchors append-only like the entries they vouch for.

The hashes use rewards.chain, whose encoding is frozen (docs/audit-chain.md). The entries'
append-only trigger is switched off around the one UPDATE that fills the new hash columns,
inside this migration's transaction, so nothing else can change a row meanwhile.
"""

from django.db import migrations

from kernel.append_only import append_only_trigger_operation, refuse_truncate_trigger_operation
from rewards.chain import AUDIT_FIELDS, GENESIS, LEDGER_FIELDS, audit_hash, ledger_hash

BATCH = 2000


def _with_trigger_off(schema_editor, table: str, fill) -> None:
    postgres = schema_editor.connection.vendor == "postgresql"
    if postgres:
        schema_editor.execute(f"ALTER TABLE {table} DISABLE TRIGGER {table}_append_only")
    fill()
    if postgres:
        schema_editor.execute(f"ALTER TABLE {table} ENABLE TRIGGER {table}_append_only")


def _batches(model, fields):
    """Rows in id order, a batch at a time (keyset), so memory stays flat on a big table."""
    last = 0
    while True:
        rows = list(
            model.objects.filter(id__gt=last).order_by("id").values("id", *fields)[:BATCH]
        )
        if not rows:
            return
        yield rows
        last = rows[-1]["id"]


def _update(schema_editor, table: str, links: list[tuple[str, str, int]]) -> None:
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":
            # One statement per batch: row-by-row updates take minutes on a big ledger.
            rows = ", ".join(["(%s, %s, %s::bigint)"] * len(links))
            cursor.execute(
                f"UPDATE {table} AS t SET prev_hash = v.prev, entry_hash = v.hash "
                f"FROM (VALUES {rows}) AS v(prev, hash, id) WHERE t.id = v.id",
                [value for link in links for value in link],
            )
        else:
            cursor.executemany(
                f"UPDATE {table} SET prev_hash = %s, entry_hash = %s WHERE id = %s", links
            )


def chain_existing(apps, schema_editor):
    AuditEntry = apps.get_model("rewards", "AuditEntry")
    LedgerEntry = apps.get_model("rewards", "LedgerEntry")
    ChainHead = apps.get_model("rewards", "ChainHead")

    head = {"id": None, "hash": GENESIS, "length": 0}

    def fill_audit():
        for rows in _batches(AuditEntry, AUDIT_FIELDS):
            links = []
            for row in rows:
                entry_hash = audit_hash(prev_hash=head["hash"], values=row)
                links.append((head["hash"], entry_hash, row["id"]))
                head.update(id=row["id"], hash=entry_hash, length=head["length"] + 1)
            _update(schema_editor, "rewards_auditentry", links)

    def fill_ledger():
        # Each account's chain is its entries in id order; one pass in id order keeps every
        # account's last hash (a few dozen bytes per account).
        heads: dict[int, str] = {}
        for rows in _batches(LedgerEntry, LEDGER_FIELDS):
            links = []
            for row in rows:
                prev = heads.get(row["account_id"], GENESIS)
                entry_hash = ledger_hash(prev_hash=prev, values=row)
                links.append((prev, entry_hash, row["id"]))
                heads[row["account_id"]] = entry_hash
            _update(schema_editor, "rewards_ledgerentry", links)

    _with_trigger_off(schema_editor, "rewards_auditentry", fill_audit)
    _with_trigger_off(schema_editor, "rewards_ledgerentry", fill_ledger)
    ChainHead.objects.update_or_create(
        name="audit",
        defaults={"entry_id": head["id"], "entry_hash": head["hash"], "length": head["length"]},
    )


def unchain(apps, schema_editor):
    apps.get_model("rewards", "ChainHead").objects.filter(name="audit").delete()


class Migration(migrations.Migration):
    dependencies = [("rewards", "0013_audit_and_ledger_chains")]
    operations = [
        migrations.RunPython(chain_existing, unchain),
        append_only_trigger_operation("rewards_chainanchor"),
        refuse_truncate_trigger_operation("rewards_chainanchor"),
        append_only_trigger_operation("rewards_chainanchorhead"),
        refuse_truncate_trigger_operation("rewards_chainanchorhead"),
    ]
