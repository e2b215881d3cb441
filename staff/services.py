"""Staff accounts: create, change roles, deactivate, reactivate, send a password reset link;
sign-in lockouts: record and clear them. Every change is audited (who, whom, before, after).

Each public function is one transaction (user_password_reset_send is two: the audit entry is
committed before the email leaves, so no link goes out unrecorded). The rules are in
staff.policies; each function checks them again on the locked row.
"""

from collections.abc import Iterable
from datetime import timedelta

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _

from kernel import permissions as perms
from kernel.locks import lock_many, lock_one
from kernel.roles import ROLES
from rewards.audit import audit_record
from rewards.models import AuditEntry
from staff.models import UserPreference
from staff.policies import (
    UserManagementError,
    email_available_check,
    email_normalize,
    is_operator,
    roles_validate,
    user_deactivate_check,
    user_email_change_check,
    user_manage_check,
    user_password_reset_check,
    user_reactivate_check,
    user_roles_check,
)
from staff.selectors import language_choices

User = get_user_model()
Action = AuditEntry.Action
# The unique index on auth_user's email (staff migration 0001).
EMAIL_UNIQUE_INDEX = "staff_user_email_unique"
NAME_MAX_LENGTH = 150

__all__ = [
    "UserManagementError", "login_lockout_clear", "login_lockout_record", "user_create",
    "user_deactivate", "user_language_set", "user_operator_change_record",
    "user_password_reset_send", "user_password_set_record", "user_profile_update",
    "user_reactivate", "user_roles_set", "user_snapshot",
]


# --- internals ----------------------------------------------------------------------------


def user_roles(user: AbstractUser) -> list[str]:
    return sorted(user.groups.filter(name__in=ROLES).values_list("name", flat=True))


def user_snapshot(user: AbstractUser) -> dict:
    """What the audit keeps of an account before and after a change (never the password)."""
    return {
        "username": user.get_username(),
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "is_active": user.is_active,
        "is_staff": user.is_staff,
        "is_superuser": user.is_superuser,
        "roles": user_roles(user),
        "other_groups": sorted(user.groups.exclude(name__in=ROLES).values_list("name", flat=True)),
        "permissions": sorted(
            f"{app}.{codename}" for app, codename in
            user.user_permissions.values_list("content_type__app_label", "codename")
        ),
    }


def _record(*, action: str, actor: AbstractUser | None, user: AbstractUser, before: dict | None,
            after: dict | None, ip_address: str | None, from_state: str = "", to_state: str = "",
            comment: str = "") -> AuditEntry:
    return audit_record(
        action=action, actor=actor, ip_address=ip_address, from_state=from_state,
        to_state=to_state, comment=comment,
        data={"user": {"id": user.pk, "username": user.get_username()}, "before": before,
              "after": after},
    )


def _locked_user(user_id: int) -> AbstractUser:
    try:
        return lock_one(User.objects, pk=user_id)
    except (User.DoesNotExist, ValueError, TypeError):
        raise UserManagementError(_("User #%(user_id)s does not exist.") % {"user_id": user_id}) from None


def _name_validate(value: str, label: str) -> str:
    value = (value or "").strip()
    if len(value) > NAME_MAX_LENGTH:
        raise UserManagementError(_("The %(value)s is longer than %(NAME_MAX_LENGTH)s characters.") % {
            "value": label,
            "NAME_MAX_LENGTH": NAME_MAX_LENGTH,
        })
    return value


def _saved(user: AbstractUser, **save_kwargs) -> None:
    """Save in a savepoint, turning the unique indexes' refusals into a message."""
    try:
        with transaction.atomic():
            user.save(**save_kwargs)
    except IntegrityError as exc:
        if EMAIL_UNIQUE_INDEX in str(exc):
            raise UserManagementError(
                _(
                    "The email address %(email)s is already used by another account.") % {
                    "email": user.email,
                }
            ) from None
        raise UserManagementError(_("The username %(user)s is already taken.") % {
            "user": user.get_username(),
        }) from None


def _role_groups_set(user: AbstractUser, roles: list[str]) -> None:
    """Replace the user's role groups, keep any other group (only an operator gives those), and
    let staff status follow: a role is what opens the admin."""
    role_groups = list(Group.objects.filter(name__in=ROLES))
    user.groups.remove(*[g for g in role_groups if g.name not in roles])
    user.groups.add(*[g for g in role_groups if g.name in roles])
    is_staff = bool(roles) or user.is_superuser
    if user.is_staff != is_staff:
        user.is_staff = is_staff
        user.save(update_fields=["is_staff"])


# --- accounts -----------------------------------------------------------------------------


@transaction.atomic
def user_create(
    *, actor: AbstractUser, username: str, email: str, roles: Iterable[str], first_name: str = "",
    last_name: str = "", ip_address: str | None = None,
) -> AbstractUser:
    """A new staff account with the given roles and no usable password: its owner sets one
    through the reset link (user_password_reset_send)."""
    if not actor.has_perm(perms.ADD_USER):
        raise UserManagementError(_("You may not create users."))
    username = (username or "").strip()
    if not username or len(username) > NAME_MAX_LENGTH:
        raise UserManagementError(_("A username has 1 to %(NAME_MAX_LENGTH)s characters.") % {
            "NAME_MAX_LENGTH": NAME_MAX_LENGTH,
        })
    try:
        User.username_validator(username)
    except ValidationError as exc:
        raise UserManagementError(" ".join(exc.messages)) from None
    if User.objects.filter(username__iexact=username).exists():
        raise UserManagementError(_("The username %(username)s is already taken.") % {"username": username})
    email = email_normalize(email, required=True)
    email_available_check(email=email)
    roles = roles_validate(roles)
    if not roles:
        raise UserManagementError(_("Give the account at least one role."))
    user = User(
        username=username, email=email, first_name=_name_validate(first_name, "first name"),
        last_name=_name_validate(last_name, "last name"), is_active=True, is_staff=True,
    )
    user.set_unusable_password()
    _saved(user)
    _role_groups_set(user, roles)
    _record(action=Action.USER_CREATED, actor=actor, user=user, before=None,
            after=user_snapshot(user), ip_address=ip_address, to_state="active")
    return user


@transaction.atomic
def user_profile_update(
    *, actor: AbstractUser, user_id: int, first_name: str, last_name: str, email: str,
    ip_address: str | None = None,
) -> AbstractUser:
    """Name and email address. An address in use by another account is refused; so is a new
    address for an account already in use, unless an operator changes it."""
    user = _locked_user(user_id)
    user_manage_check(actor=actor, target=user)
    email = email_normalize(email, required=bool(user.email))
    user_email_change_check(actor=actor, target=user, email=email)
    email_available_check(email=email, user_id=user.pk)
    changes = {
        "first_name": _name_validate(first_name, "first name"),
        "last_name": _name_validate(last_name, "last name"),
        "email": email,
    }
    changed = [field for field, value in changes.items() if getattr(user, field) != value]
    if not changed:
        return user
    before = user_snapshot(user)
    for field in changed:
        setattr(user, field, changes[field])
    _saved(user, update_fields=changed)
    _record(action=Action.USER_CHANGED, actor=actor, user=user, before=before,
            after=user_snapshot(user), ip_address=ip_address)
    return user


@transaction.atomic
def user_roles_set(*, actor: AbstractUser, user_id: int, roles: Iterable[str],
                   ip_address: str | None = None) -> AbstractUser:
    """Exactly these roles (of the four); other groups and permissions are left as they are."""
    user = _locked_user(user_id)
    roles = user_roles_check(actor=actor, target=user, roles=roles)
    before = user_snapshot(user)
    if before["roles"] == roles:
        return user
    _role_groups_set(user, roles)
    after = user_snapshot(user)
    _record(action=Action.USER_ROLES_CHANGED, actor=actor, user=user, before=before, after=after,
            ip_address=ip_address,
            comment=f"roles: {', '.join(before['roles']) or 'none'} → {', '.join(roles) or 'none'}")
    return user


@transaction.atomic
def user_deactivate(*, actor: AbstractUser, user_id: int, ip_address: str | None = None) -> AbstractUser:
    """The account can no longer sign in; its open sessions end at their next request."""
    user = _locked_user(user_id)
    user_deactivate_check(actor=actor, target=user)
    before = user_snapshot(user)
    user.is_active = False
    user.save(update_fields=["is_active"])
    _record(action=Action.USER_DEACTIVATED, actor=actor, user=user, before=before,
            after=user_snapshot(user), ip_address=ip_address, from_state="active",
            to_state="inactive")
    return user


@transaction.atomic
def user_reactivate(*, actor: AbstractUser, user_id: int, ip_address: str | None = None) -> AbstractUser:
    user = _locked_user(user_id)
    user_reactivate_check(actor=actor, target=user)
    before = user_snapshot(user)
    user.is_active = True
    user.save(update_fields=["is_active"])
    _record(action=Action.USER_REACTIVATED, actor=actor, user=user, before=before,
            after=user_snapshot(user), ip_address=ip_address, from_state="inactive",
            to_state="active")
    return user


def user_password_reset_send(
    *, actor: AbstractUser, user_id: int, domain: str, use_https: bool, ip_address: str | None = None,
) -> AbstractUser:
    """Email the account's owner a link to set a new password (Django's password reset tokens:
    single use, expiring after PASSWORD_RESET_TIMEOUT). Nobody else ever sees the password.

    Call it outside a transaction: the audit entry commits first, then the email is sent; a
    failure to send is audited too and raised."""
    with transaction.atomic():
        user = _locked_user(user_id)
        user_password_reset_check(actor=actor, target=user)
        snapshot = user_snapshot(user)
        _record(action=Action.USER_PASSWORD_RESET_REQUESTED, actor=actor, user=user,
                before=snapshot, after=snapshot, ip_address=ip_address,
                comment=f"link sent to {user.email}")
    try:
        _password_reset_email_send(user=user, actor=actor, domain=domain, use_https=use_https)
    except OSError as exc:  # smtplib's errors are OSErrors, as are refused connections
        with transaction.atomic():
            _record(action=Action.USER_PASSWORD_RESET_FAILED, actor=actor, user=user,
                    before=snapshot, after=snapshot, ip_address=ip_address,
                    comment=f"sending to {user.email} failed: {exc}")
        raise UserManagementError(_("The link could not be sent to %(email)s: %(value)s") % {
            "email": user.email,
            "value": exc,
        }) from None
    return user


def _password_reset_email_send(
    *, user: AbstractUser, actor: AbstractUser, domain: str, use_https: bool,
) -> None:
    timeout = timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT)
    context = {
        "user": user,
        "email": user.email,
        "domain": domain,
        "protocol": "https" if use_https else "http",
        "uid": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": default_token_generator.make_token(user),  # type: ignore[arg-type]
        "requested_by": actor.get_username(),
        "valid_hours": int(timeout.total_seconds() // 3600),
    }
    # Sent here rather than through PasswordResetForm.send_mail, which logs and hides a
    # failure to send (for its public form); staff must know the link did not leave.
    subject = "".join(render_to_string("registration/staff_password_reset_subject.txt", context).splitlines())
    body = render_to_string("registration/staff_password_reset_email.txt", context)
    EmailMessage(subject=subject, body=body, to=[user.email]).send()


# --- operators' changes through Django's own user forms -------------------------------------


@transaction.atomic
def user_operator_change_record(*, actor: AbstractUser, user_id: int, before: dict | None,
                                ip_address: str | None = None) -> AuditEntry | None:
    """Audit what an operator changed with Django's full user forms (a new account when
    `before` is None); nothing when nothing changed."""
    if not is_operator(actor):
        raise UserManagementError(_("Only an operator changes accounts through the full user form."))
    user = User.objects.get(pk=user_id)
    after = user_snapshot(user)
    if before == after:
        return None
    action = Action.USER_CREATED if before is None else Action.USER_CHANGED
    return _record(action=action, actor=actor, user=user, before=before, after=after,
                   ip_address=ip_address, comment="by an operator")


@transaction.atomic
def user_password_set_record(
    *, actor: AbstractUser, user_id: int, ip_address: str | None = None,
) -> AuditEntry:
    if not is_operator(actor):
        raise UserManagementError(_("Only an operator sets a password."))
    user = User.objects.get(pk=user_id)
    snapshot = user_snapshot(user)
    return _record(action=Action.USER_PASSWORD_SET, actor=actor, user=user, before=snapshot,
                   after=snapshot, ip_address=ip_address, comment="password set by an operator")


# --- sign-in lockouts ---------------------------------------------------------------------


def _printable(text: str | None, limit: int = 150) -> str:
    # Whatever a stranger typed as a username: no NUL (PostgreSQL refuses it), bounded.
    return (text or "").replace("\x00", "")[:limit]


@transaction.atomic
def login_lockout_record(*, username: str | None, ip_address: str | None, failures: int) -> AuditEntry:
    """A username and address were locked out after `failures` failed sign-ins."""
    username = _printable(username)
    user = User.objects.filter(username=username).only("pk").first() if username else None
    return audit_record(
        action=Action.LOGIN_LOCKED_OUT, actor=None, ip_address=ip_address,
        comment=f"{username or '(no username)'} locked out after {failures} failed sign-ins",
        data={"username": username, "user_id": user.pk if user else None, "failures": failures},
    )


@transaction.atomic
def login_lockout_clear(
    *, actor: AbstractUser, attempt_ids: Iterable[int], ip_address: str | None = None,
) -> int:
    """Unlock: remove the failed-attempt records of these username and address pairs."""
    if not actor.has_perm(perms.DELETE_ACCESS_ATTEMPT):
        raise UserManagementError(_("You may not unlock sign-ins."))
    attempts = lock_many(AccessAttempt.objects, attempt_ids)
    for attempt in attempts:
        audit_record(
            action=Action.LOGIN_UNLOCKED, actor=actor, ip_address=ip_address,
            comment=f"{_printable(attempt.username) or '(no username)'} from "
                    f"{attempt.ip_address or 'an unknown address'} unlocked",
            data={"username": _printable(attempt.username), "address": attempt.ip_address,
                  "failures": attempt.failures_since_start},
        )
        attempt.delete()
    return len(attempts)


# --- preferences --------------------------------------------------------------------------


@transaction.atomic(durable=True)
def user_language_set(*, user: AbstractUser, language: str) -> UserPreference:
    """Record the language `user` reads their pages in: a code of settings.LANGUAGES, or "" for
    LANGUAGE_CODE. Anyone may set their own; it changes nothing anyone else sees, so no audit."""
    language = (language or "").strip().lower()
    if language and language not in {code for code, _name in language_choices()}:
        raise UserManagementError(
            _("%(language)s is not a language of the back office.") % {"language": language})
    preference, _created = UserPreference.objects.update_or_create(
        user_id=user.pk, defaults={"language": language})
    return preference
