"""Give the roles the bulk batch permissions (loyalty_backoffice/roles.py): the permissions are
created here first, since Django only creates them after the migrations have run."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions
from django.db import migrations

from kernel.roles import roles_sync


def sync(apps, schema_editor):
    create_permissions(global_apps.get_app_config("bulk_adjustments"), verbosity=0,
                       using=schema_editor.connection.alias, apps=apps)
    roles_sync(group_model=apps.get_model("auth", "Group"),
               permission_model=apps.get_model("auth", "Permission"))


class Migration(migrations.Migration):

    dependencies = [
        ("bulk_adjustments", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("rewards", "0015_audit_actions_of_bulk_adjustments"),
    ]

    operations = [migrations.RunPython(sync, migrations.RunPython.noop)]
