"""The staff roles: one group each, with exactly these permissions.

A migration creates them; `roles_sync` can be run again at any time to restore them.
"""

ROLES = {
    "Support agent": [
        "accounts.view_member", "accounts.view_card", "accounts.view_rewardaccount",
        "accounts.view_balancesnapshot", "accounts.check_balance",
        "rewards.view_rewardevent", "rewards.view_ledgerentry",
        "rewards.view_adjustment", "rewards.add_adjustment",
    ],
    "Approver": [
        "accounts.view_member", "accounts.view_card", "accounts.view_rewardaccount",
        "accounts.view_balancesnapshot", "accounts.check_balance",
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


def roles_sync(*, group_model, permission_model) -> None:
    """Create or reset each role's group. Takes the models so a migration can pass its own."""
    for role, codenames in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=role)
        permissions = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permissions.append(
                permission_model.objects.get(content_type__app_label=app_label, codename=codename)
            )
        group.permissions.set(permissions)
