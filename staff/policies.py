"""Who may do what to a staff account, and why not.

The services apply these rules under a row lock before every change; the admin's forms apply
them too, to show the reason beside the field. Operators (superusers) run the system and may
do anything; an Administrator manages the accounts of the four roles and nothing more, so
that no one person can become both maker and checker of an adjustment.
"""

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import BaseUserManager
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext

from kernel import permissions as perms
from kernel.errors import BackofficeError
from kernel.roles import ROLES, role_label

User = get_user_model()


class UserManagementError(BackofficeError):
    """A change to a staff account that breaks a rule. The message is shown to staff as is."""


def is_operator(user) -> bool:
    return bool(user.is_active and user.is_superuser)


def user_manage_check(*, actor, target) -> None:
    if not actor.has_perm(perms.CHANGE_USER):
        raise UserManagementError(gettext("You may not manage users."))
    if target.is_superuser and not is_operator(actor):
        raise UserManagementError(
            gettext(
                "%(target)s is an operator's account (superuser): only an operator can change "
                "it.") % {"target": target.get_username()}
        )


def roles_validate(roles: Iterable[str]) -> list[str]:
    roles = sorted(set(roles))
    unknown = [role for role in roles if role not in ROLES]
    if unknown:
        raise UserManagementError(
            gettext("Unknown role %(unknown)s; the roles are %(roles)s.") % {
                "unknown": ', '.join(map(repr, unknown)),
                "roles": ', '.join(role_label(role) for role in ROLES),
            }
        )
    return roles


def user_roles_check(*, actor, target, roles: Iterable[str]) -> list[str]:
    user_manage_check(actor=actor, target=target)
    if target.pk == actor.pk:
        raise UserManagementError(gettext("You cannot change your own roles: ask another administrator."))
    return roles_validate(roles)


def user_deactivate_check(*, actor, target) -> None:
    user_manage_check(actor=actor, target=target)
    if target.pk == actor.pk:
        raise UserManagementError(gettext("You cannot deactivate your own account."))
    if not target.is_active:
        raise UserManagementError(gettext("%(target)s is already deactivated.") % {
            "target": target.get_username(),
        })


def user_reactivate_check(*, actor, target) -> None:
    user_manage_check(actor=actor, target=target)
    if target.is_active:
        raise UserManagementError(gettext(
            "%(target)s is already active.") % {"target": target.get_username()})


def user_password_reset_check(*, actor, target) -> None:
    user_manage_check(actor=actor, target=target)
    if not target.is_active:
        raise UserManagementError(
            gettext("%(target)s is deactivated: reactivate the account first.") % {
                "target": target.get_username(),
            }
        )
    if not target.email:
        raise UserManagementError(
            gettext("%(target)s has no email address to send the link to.") % {
                "target": target.get_username(),
            }
        )


def email_normalize(email: str, *, required: bool) -> str:
    email = BaseUserManager.normalize_email((email or "").strip())
    if not email:
        if required:
            raise UserManagementError(gettext("An email address is needed: the password link is sent there."))
        return ""
    try:
        validate_email(email)
    except ValidationError:
        raise UserManagementError(gettext("%(email)r is not an email address.") % {"email": email}) from None
    return email


def email_available_check(*, email: str, user_id: int | None = None) -> None:
    """Two accounts with one address would let whoever reads that mailbox set the password of
    both (a second account is a second person to the maker-checker rule). The database's
    unique index (staff migration 0001) has the last word under concurrency."""
    if not email:
        return
    others = User.objects.filter(email__iexact=email)
    if user_id is not None:
        others = others.exclude(pk=user_id)
    if others.exists():
        raise UserManagementError(gettext(
            "The email address %(email)s is already used by another account.") % {"email": email})


def user_email_change_check(*, actor, target, email: str) -> None:
    """An Administrator may fix the address of an account nobody has started using; changing the
    address of an account in use, then sending it a reset link, would take it over."""
    if email.lower() == (target.email or "").lower():
        return
    if is_operator(actor):
        return
    if target.last_login is not None or target.has_usable_password():
        raise UserManagementError(
            gettext(
                "%(target)s already uses this account: only an operator can change its email "
                "address.") % {"target": target.get_username()}
        )
