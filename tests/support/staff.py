"""What the user-management tests compare: audit entries and an account's whole state."""

from django.contrib.auth.models import User

from rewards.models import AuditEntry


def audit_entries(*actions) -> list[AuditEntry]:
    return list(AuditEntry.objects.filter(action__in=actions).order_by("pk"))


def user_state(user_id: int) -> dict:
    """Everything about an account a refused change must leave as it was."""
    user = User.objects.get(pk=user_id)
    return {
        "fields": User.objects.filter(pk=user_id).values(
            "username", "email", "first_name", "last_name", "is_active", "is_staff",
            "is_superuser", "password").get(),
        "groups": sorted(user.groups.values_list("name", flat=True)),
        "permissions": sorted(user.user_permissions.values_list("codename", flat=True)),
        "audit": AuditEntry.objects.count(),
    }
