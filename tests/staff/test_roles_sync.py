"""The roles come from kernel/roles.py, synced after every migrate and by a command; no
migration imports the live list."""

from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from kernel import permissions as perms
from kernel.roles import ROLES

pytestmark = pytest.mark.django_db


def _codenames(group: Group) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


def test_migrate_leaves_each_role_with_exactly_its_permissions():
    for role, names in ROLES.items():
        assert _codenames(Group.objects.get(name=role)) == set(names)


def test_the_command_restores_a_role_changed_by_hand():
    approver = Group.objects.get(name="Approver")
    approver.permissions.clear()
    call_command("roles_sync", stdout=StringIO())
    assert perms.APPROVE_ADJUSTMENT in _codenames(approver)
    assert _codenames(approver) == set(ROLES["Approver"])


def test_no_migration_imports_the_live_role_list():
    root = Path(__file__).resolve().parents[2]
    importing = [
        path.relative_to(root).as_posix() for path in root.glob("*/migrations/*.py")
        if "kernel.roles" in path.read_text() or "roles_sync" in path.read_text()
    ]
    assert importing == []
