"""The staff roles: one group each, with exactly these permissions.

A migration created them; since then they are synced after every `migrate` (the staff app's
post_migrate handler), so a change here needs no migration. `roles_sync` can be run again at
any time to restore them.
"""

from django.utils.translation import gettext_lazy as _

from kernel import permissions as perms

ROLES = {
    "Support agent": [
        perms.VIEW_MEMBER, perms.VIEW_CARD, perms.VIEW_REWARD_ACCOUNT,
        perms.VIEW_BALANCE_SNAPSHOT, perms.CHECK_BALANCE,
        perms.VIEW_REWARD_EVENT, perms.VIEW_LEDGER_ENTRY,
        perms.VIEW_ADJUSTMENT, perms.ADD_ADJUSTMENT,
        perms.VIEW_BULK_BATCH, perms.ADD_BULK_BATCH,
    ],
    "Approver": [
        perms.VIEW_MEMBER, perms.VIEW_CARD, perms.VIEW_REWARD_ACCOUNT,
        perms.VIEW_BALANCE_SNAPSHOT, perms.CHECK_BALANCE,
        perms.VIEW_REWARD_EVENT, perms.VIEW_LEDGER_ENTRY,
        perms.VIEW_ADJUSTMENT, perms.APPROVE_ADJUSTMENT, perms.RETRY_ADJUSTMENT,
        perms.VIEW_APPROVAL, perms.VIEW_AUDIT_ENTRY, perms.VIEW_CHAIN_VERIFICATION,
        perms.VIEW_BULK_BATCH, perms.APPROVE_BULK_BATCH, perms.RETRY_BULK_BATCH,
    ],
    "Finance auditor": [
        perms.VIEW_MEMBER, perms.VIEW_CARD, perms.VIEW_REWARD_ACCOUNT,
        perms.VIEW_BALANCE_SNAPSHOT,
        perms.VIEW_REWARD_EVENT, perms.VIEW_LEDGER_ENTRY, perms.VIEW_ADJUSTMENT,
        perms.VIEW_APPROVAL, perms.VIEW_AUDIT_ENTRY, perms.EXPORT_ADJUSTMENT,
        perms.EXPORT_AUDIT_ENTRY, perms.EXPORT_LEDGER_ENTRY, perms.EXPORT_REWARD_EVENT,
        perms.VIEW_RECONCILIATION_RUN, perms.VIEW_RECONCILIATION_RESULT,
        perms.VIEW_CHAIN_ANCHOR, perms.VIEW_CHAIN_VERIFICATION,
        perms.VIEW_DELIVERY,
        perms.VIEW_BULK_BATCH, perms.EXPORT_BULK_BATCH,
    ],
    "Administrator": [
        perms.VIEW_MEMBER, perms.CHANGE_MEMBER, perms.VIEW_CARD,
        perms.VIEW_REWARD_ACCOUNT, perms.VIEW_BALANCE_SNAPSHOT, perms.CHECK_BALANCE,
        perms.VIEW_REWARD_EVENT, perms.VIEW_LEDGER_ENTRY, perms.VIEW_ADJUSTMENT,
        perms.VIEW_APPROVAL, perms.VIEW_AUDIT_ENTRY, perms.EXPORT_ADJUSTMENT,
        perms.EXPORT_AUDIT_ENTRY, perms.EXPORT_LEDGER_ENTRY, perms.EXPORT_REWARD_EVENT,
        perms.VIEW_RECONCILIATION_RUN, perms.VIEW_RECONCILIATION_RESULT,
        perms.ADD_RECONCILIATION_RUN,
        perms.VIEW_CHAIN_ANCHOR, perms.VIEW_CHAIN_VERIFICATION,
        perms.VIEW_DELIVERY, perms.REPROCESS_DELIVERY,
        # Users through the staff app's user admin only: create, deactivate, assign these
        # roles, send a password reset link; never superuser, permissions or passwords.
        perms.VIEW_USER, perms.ADD_USER, perms.CHANGE_USER, perms.VIEW_GROUP,
        # Sign-in lockouts: see them, and unlock (an unlock deletes axes' attempt record).
        perms.VIEW_ACCESS_ATTEMPT, perms.DELETE_ACCESS_ATTEMPT, perms.VIEW_ACCESS_LOG,
    ],
}

# The group names stay in English in the database (they are the roles' keys); staff read them
# through these labels, in their language.
ROLE_LABELS = {
    "Support agent": _("Support agent"),
    "Approver": _("Approver"),
    "Finance auditor": _("Finance auditor"),
    "Administrator": _("Administrator"),
}


def role_label(name: str) -> str:
    """The translated label of the role `name`; another group's name as it is stored."""
    label = ROLE_LABELS.get(name)
    return str(label) if label is not None else name


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
