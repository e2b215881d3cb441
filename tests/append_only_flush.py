"""Let the test run empty the append-only tables between transactional tests on PostgreSQL.

Django ends every transactional test (`django_db(transaction=True)`, live servers) by flushing
the database with TRUNCATE, which the ledger and audit tables refuse by trigger. Around that
flush, and only there, the TRUNCATE triggers are disabled inside one transaction with the
flush, so they are enabled again before anything else can run. Disabling a trigger takes table
ownership, which the test database's user has (the same power that could drop it).
"""

from __future__ import annotations

from contextlib import ExitStack

import pytest
from django.db import connections, transaction
from django.test import TransactionTestCase

from kernel.append_only import REFUSE_TRUNCATE_TRIGGER_SUFFIX

_TRIGGERS_SQL = """
    SELECT quote_ident(c.relname), quote_ident(t.tgname)
    FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
    WHERE NOT t.tgisinternal AND t.tgname LIKE %s
"""


def _set_triggers(cursor, triggers, enabled: bool) -> None:
    action = "ENABLE" if enabled else "DISABLE"
    for table, trigger in triggers:
        cursor.execute(f"ALTER TABLE {table} {action} TRIGGER {trigger}")


@pytest.fixture(scope="session", autouse=True)
def _append_only_tables_flushable():
    original = TransactionTestCase._fixture_teardown

    def fixture_teardown(self):
        with ExitStack() as stack:
            reenable = []
            for alias in self._databases_names(include_mirrors=False):
                connection = connections[alias]
                if connection.vendor != "postgresql":
                    continue
                stack.enter_context(transaction.atomic(using=alias))
                cursor = stack.enter_context(connection.cursor())
                cursor.execute(_TRIGGERS_SQL, [f"%{REFUSE_TRUNCATE_TRIGGER_SUFFIX}"])
                triggers = cursor.fetchall()
                _set_triggers(cursor, triggers, enabled=False)
                reenable.append((cursor, triggers))
            original(self)
            for cursor, triggers in reenable:
                _set_triggers(cursor, triggers, enabled=True)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(TransactionTestCase, "_fixture_teardown", fixture_teardown)
        yield
