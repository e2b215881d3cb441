"""Created the four staff roles once. It does nothing now: the roles are synced after every
`migrate` by the staff app's post_migrate handler (and by the staff command), from the
current list in kernel/roles.py. A migration importing that live list would break on a fresh
database as soon as a role named a permission created by a later migration."""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0004_audit_append_only_trigger"),
        ("accounts", "0002_balancesnapshot"),
        ("webhooks", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop)]
