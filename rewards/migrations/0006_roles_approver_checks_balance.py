"""Gave Approvers the balance check. It does nothing now: the roles are synced after every
`migrate` from kernel/roles.py (see 0005)."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("rewards", "0005_roles")]
    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
