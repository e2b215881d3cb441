"""The four staff roles as groups with their permissions. Re-running the migration is safe."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

ROLES = {
    "Support agent": [
        "accounts.view_member", "accounts.view_card", "accounts.view_rewardaccount",
        "accounts.view_balancesnapshot", "accounts.check_balance",
        "rewards.view_rewardevent", "rewards.view_ledgerentry",
        "rewards.view_adjustment", "rewards.add_adjustment",
    ],
    "Approver": [
        "accounts.view_member", "accounts.view_card", "accounts.view_rewardaccount",
        "accounts.view_balancesnapshot",
        "rewards.view_rewardevent", "rewards.view_ledgerentry",
        "rewards.view_adjustment", "rewards.approve_adjustment", "rewards.retry_adjustment",
        "rewards.view_approval", "rewards.view_auditentry",
    ],
    "Finance auditor": [
        "accounts.view_member", "accounts.view_card", "accounts.view_rewardaccount",
        "accounts.view_balancesnapshot",
        "rewards.view_rewardevent", "rewards.view_ledgerentry", "rewards.view_adjustment",
        "rewards.view_approval", "rewards.view_auditentry", "rewards.export_adjustment",
        "rewards.view_reconciliationrun", "rewards.view_reconciliationresult",
        "webhooks.view_delivery",
    ],
    "Administrator": [
        "accounts.view_member", "accounts.change_member", "accounts.view_card",
        "accounts.view_rewardaccount", "accounts.view_balancesnapshot", "accounts.check_balance",
        "rewards.view_rewardevent", "rewards.view_ledgerentry", "rewards.view_adjustment",
        "rewards.view_approval", "rewards.view_auditentry", "rewards.export_adjustment",
        "rewards.view_reconciliationrun", "rewards.view_reconciliationresult",
        "rewards.add_reconciliationrun",
        "webhooks.view_delivery", "webhooks.reprocess_delivery",
        "auth.view_user", "auth.add_user", "auth.change_user", "auth.view_group",
    ],
}


def create_roles(apps, schema_editor):
    # Permissions are normally created after all migrations; the groups need them now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for role, codenames in ROLES.items():
        group, _ = Group.objects.get_or_create(name=role)
        perms = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            perms.append(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(perms)


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0004_audit_append_only_trigger"),
        ("accounts", "0002_balancesnapshot"),
        ("webhooks", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]
    operations = [migrations.RunPython(create_roles, migrations.RunPython.noop)]
