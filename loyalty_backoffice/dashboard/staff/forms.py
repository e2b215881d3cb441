"""The user forms of the admin: the Administrator's (the four roles, nothing more) and the
operator's (Django's full forms, plus one account per email address)."""

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.utils.translation import gettext_lazy as _

from kernel.roles import ROLE_LABELS, ROLES
from staff.policies import (
    UserManagementError,
    email_available_check,
    email_normalize,
    user_email_change_check,
    user_roles_check,
)
from staff.services import user_roles

User = get_user_model()

# What an Administrator's form never takes, whatever is posted: privileges, passwords, status.
FORBIDDEN_FIELDS = frozenset({
    "is_superuser", "is_staff", "is_active", "user_permissions", "groups", "password",
    "password1", "password2", "usable_password", "last_login", "date_joined",
})
# The group name is posted and stored; the person reads the role's label in their language.
ROLE_CHOICES = [(role, ROLE_LABELS.get(role, role)) for role in ROLES]


def _checked(rule, *args, **kwargs):
    try:
        return rule(*args, **kwargs)
    except UserManagementError as exc:
        raise forms.ValidationError(str(exc)) from None


class _AdministratorForm(forms.ModelForm):
    actor = None  # set by the admin: who is filling the form in

    def clean(self):
        cleaned = super().clean()
        tampered = sorted(FORBIDDEN_FIELDS & set(self.data))
        if tampered:
            raise forms.ValidationError(
                _("These cannot be set here: %(fields)s. Superuser status, permissions, groups "
                  "other than the roles and passwords are for operators; an account's owner sets "
                  "their password through a reset link.") % {"fields": ", ".join(tampered)},
                code="forbidden",
            )
        return cleaned


class AdministratorUserCreateForm(_AdministratorForm):
    roles = forms.MultipleChoiceField(
        label=_("Roles"), choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple,
        help_text=_("What the person may see and do. Staff access follows from having a role."),
    )

    class Meta:
        model = User
        fields = ["username", "first_name", "last_name", "email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        self.fields["email"].help_text = _(
            "Their own address, used by no other account: the link to set a password goes there."
        )

    def clean_email(self):
        email = _checked(email_normalize, self.cleaned_data.get("email", ""), required=True)
        _checked(email_available_check, email=email)
        return email


class AdministratorUserChangeForm(_AdministratorForm):
    roles = forms.MultipleChoiceField(
        label=_("Roles"), choices=ROLE_CHOICES, widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text=_("What the person may see and do. No role: they can no longer open the admin."),
    )

    class Meta:
        model = User
        fields = ["first_name", "last_name", "email"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.current_roles = user_roles(self.instance) if self.instance.pk else []
        self.fields["roles"].initial = self.current_roles
        if self.actor is not None and self.instance.pk == self.actor.pk:
            self.fields["roles"].disabled = True
            self.fields["roles"].help_text = _("You cannot change your own roles.")

    def clean_email(self):
        email = _checked(
            email_normalize, self.cleaned_data.get("email", ""), required=bool(self.instance.email)
        )
        _checked(user_email_change_check, actor=self.actor, target=self.instance, email=email)
        _checked(email_available_check, email=email, user_id=self.instance.pk)
        return email

    def clean_roles(self):
        # A disabled field ignores what is posted; a posted change to one's own roles is
        # refused, not silently dropped.
        posted = sorted(set(self.data.getlist("roles"))) if "roles" in self.data else None
        roles = sorted(self.cleaned_data.get("roles") or [])
        if self.fields["roles"].disabled and posted is not None:
            roles = posted
        if roles != self.current_roles:
            _checked(user_roles_check, actor=self.actor, target=self.instance, roles=roles)
        return roles


class OperatorUserCreationForm(AdminUserCreationForm):
    def clean_email(self):
        email = _checked(email_normalize, self.cleaned_data.get("email", ""), required=False)
        _checked(email_available_check, email=email)
        return email


class OperatorUserChangeForm(UserChangeForm):
    def clean_email(self):
        email = _checked(email_normalize, self.cleaned_data.get("email", ""), required=False)
        _checked(email_available_check, email=email, user_id=self.instance.pk)
        return email
