"""The staff roles: one group each, with exactly these permissions.

A migration created them; since then they are synced after every `migrate` (the staff app's
post_migrate handler), so a change here needs no migration. `roles_sync` can be run again at
any time to restore them.
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
        # Users through the staff app's user admin only: create, deactivate, assign these
        # roles, send a password reset link; never superuser, permissions or passwords.
        "auth.view_user", "auth.add_user", "auth.change_user", "auth.view_group",
        # Sign-in lockouts: see them, and unlock (an unlock deletes axes' attempt record).
        "axes.view_accessattempt", "axes.delete_accessattempt", "axes.view_accesslog",
    ],
}


def roles_sync(*, group_model, permission_model) -> list[str]:
    """Create or reset each role's group. Takes the models so a migration can pass its own.

    Returns the permissions that do not exist (yet): an early migration runs before the apps
    whose permissions later roles name, and the sync after `migrate` completes the groups."""
    missing = []
    for role, codenames in ROLES.items():
        group, _ = group_model.objects.get_or_create(name=role)
        permissions = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            permission = permission_model.objects.filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if permission is None:
                missing.append(dotted)
            else:
                permissions.append(permission)
        group.permissions.set(permissions)
    return missing
