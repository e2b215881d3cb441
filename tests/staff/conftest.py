"""Staff in each role for the user-management and sign-in tests."""

import pytest
from django.contrib.auth.models import User

from rewards.models import AuditEntry


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def staff(make_staff):
    people = {
        "admin": make_staff("administrator", "Administrator"),
        "admin2": make_staff("administrator2", "Administrator"),
        "agent": make_staff("agent", "Support agent"),
        "approver": make_staff("approver", "Approver"),
        "auditor": make_staff("auditor", "Finance auditor"),
    }
    for user in people.values():
        User.objects.filter(pk=user.pk).update(email=f"{user.username}@example.test")
        user.refresh_from_db()
    people["operator"] = User.objects.create_superuser(
        "operator", "operator@example.test", "pw-operator")
    return people


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


def form_errors(response) -> list[str]:
    """Every error the change form shows (field and form-wide)."""
    form = response.context["adminform"].form
    return [str(error) for errors in form.errors.values() for error in errors]


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []
