"""The lock helpers lock only the rows asked for, several of them in primary-key order."""

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.models import Member
from kernel.locks import lock_many, lock_one
from tests.support.factories import MemberFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def test_one_row_locks_its_own_table_only():
    member = MemberFactory()
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = lock_one(Member.objects.prefetch_related("cards"), pk=member.pk)
    assert locked == member
    assert 'FOR UPDATE OF "accounts_member"' in queries[0]["sql"]


def test_several_rows_are_locked_in_primary_key_order():
    members = MemberFactory.create_batch(3)
    with transaction.atomic(), CaptureQueriesContext(connection) as queries:
        locked = lock_many(Member.objects, [m.pk for m in reversed(members)])
    assert [m.pk for m in locked] == sorted(m.pk for m in members)
    sql = queries[0]["sql"]
    assert "ORDER BY" in sql and sql.index("ORDER BY") < sql.index("FOR UPDATE OF")
