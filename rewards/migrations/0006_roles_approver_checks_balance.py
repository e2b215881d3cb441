"""Approvers may check a member's live balance at Pomelo before deciding on a debit."""

from django.db import migrations

from kernel.roles import roles_sync


def resync_roles(apps, schema_editor):
    roles_sync(group_model=apps.get_model("auth", "Group"),
               permission_model=apps.get_model("auth", "Permission"))


class Migration(migrations.Migration):
    dependencies = [("rewards", "0005_roles")]
    operations = [migrations.RunPython(resync_roles, migrations.RunPython.noop)]
