"""Users and sign-in lockouts in the admin.

Operators (superusers) keep Django's full user admin, audited. Everyone else with the user
permissions (the Administrator role) gets a narrower one: create an account with roles,
change names, email and roles, deactivate and reactivate, send a password reset link; never
superuser or staff status, permissions, other groups, passwords, their own roles, nor an
operator's account. The rules live in staff.policies and staff.services; these views parse
input, call one service and show its answer.
"""

import copy

from axes.admin import AccessAttemptAdmin as AxesAccessAttemptAdmin
from axes.admin import AccessLogAdmin as AxesAccessLogAdmin
from axes.models import AccessAttempt, AccessLog
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import GroupAdmin as DjangoGroupAdmin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from kernel.client_ip import client_ip
from kernel.roles import ROLES, role_label
from loyalty_backoffice.dashboard.staff.forms import (
    AdministratorUserChangeForm,
    AdministratorUserCreateForm,
    OperatorUserChangeForm,
    OperatorUserCreationForm,
)
from staff.policies import UserManagementError, is_operator
from staff.services import (
    login_lockout_clear,
    user_create,
    user_deactivate,
    user_operator_change_record,
    user_password_reset_send,
    user_password_set_record,
    user_profile_update,
    user_reactivate,
    user_roles_set,
    user_snapshot,
)

User = get_user_model()


class _SaveRefused(Exception):
    """A service refused a save the form had accepted (a concurrent change won the race)."""



class GroupFilter(admin.SimpleListFilter):
    """Django's groups filter, with the roles named in the reader's language (the group names
    stay in English in the database)."""

    title = gettext_lazy("roles")
    parameter_name = "groups__id__exact"

    def lookups(self, request, model_admin):
        return [(str(pk), role_label(name))
                for pk, name in Group.objects.order_by("name").values_list("pk", "name")]

    def queryset(self, request, queryset):
        value = self.value()
        if value is None:
            return queryset
        if not value.isascii() or not value.isdigit():
            return queryset.none()
        return queryset.filter(groups__id=int(value))


admin.site.unregister(User)
admin.site.unregister(Group)


@admin.register(Group)
class RoleGroupAdmin(DjangoGroupAdmin):
    """The groups (the roles) listed by their label in the reader's language."""

    list_display = ["role"]

    @admin.display(description=gettext_lazy("role"), ordering="name")
    def role(self, obj: Group) -> str:
        return role_label(obj.name)

    def get_fields(self, request, obj=None):
        # Read only (every role but the operator): the role's label, not the stored group name.
        if obj is not None and not self.has_change_permission(request, obj):
            return ["role", "permissions"]
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "role"]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            # The page's title and breadcrumb read the group as a role label, in the reader's
            # language; the form itself still edits the group as stored.
            shown = copy.copy(obj)
            shown.name = role_label(obj.name)
            context.update(original=shown, subtitle=shown.name)
        return super().render_change_form(request, context, add, change, form_url, obj)


@admin.register(User)
class StaffUserAdmin(DjangoUserAdmin):
    form = OperatorUserChangeForm
    add_form = OperatorUserCreationForm
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": (
            "username", "email", "usable_password", "password1", "password2",
        )}),
    )
    list_display = ["username", "email", "full_name", "roles_display", "is_active", "last_login"]
    search_fields = ["username", "first_name", "last_name", "email"]
    ordering = ["username"]
    list_per_page = 100

    # --- which admin: the operator's or the Administrator's --------------------------------

    @staticmethod
    def _operator(request) -> bool:
        return is_operator(request.user)

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def get_list_filter(self, request):
        if self._operator(request):
            return ["is_active", "is_superuser", "is_staff", GroupFilter]
        return ["is_active", GroupFilter]

    def get_actions(self, request):
        return super().get_actions(request) if self._operator(request) else {}

    def has_change_permission(self, request, obj=None):
        if not super().has_change_permission(request, obj):
            return False
        # An operator's account is the operators' business.
        return obj is None or not obj.is_superuser or self._operator(request)

    def has_delete_permission(self, request, obj=None):
        return self._operator(request) and super().has_delete_permission(request, obj)

    def get_fieldsets(self, request, obj=None):
        if self._operator(request):
            return super().get_fieldsets(request, obj)
        if obj is None:
            return [(None, {"fields": ["username", "first_name", "last_name", "email", "roles"]})]
        roles = "roles" if self.has_change_permission(request, obj) else "roles_display"
        return [
            (None, {"fields": ["username", "first_name", "last_name", "email"]}),
            (_("Roles"), {"fields": [roles]}),
            (_("Status"), {"fields": ["is_active", "last_login", "date_joined"]}),
        ]

    def get_readonly_fields(self, request, obj=None):
        if self._operator(request) or obj is None:
            return super().get_readonly_fields(request, obj)
        return ["username", "is_active", "last_login", "date_joined", "roles_display"]

    def get_form(self, request, obj=None, **kwargs):
        if self._operator(request):
            return super().get_form(request, obj, **kwargs)
        kwargs["form"] = AdministratorUserChangeForm if obj else AdministratorUserCreateForm
        form = admin.ModelAdmin.get_form(self, request, obj, **kwargs)
        form.actor = request.user
        return form

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        response = super().render_change_form(request, context, add, change, form_url, obj)
        if add and not self._operator(request):
            # Django's add-user page asks for a password; an Administrator's never does.
            response.template_name = ["admin/auth/user/change_form.html", "admin/change_form.html"]
        return response

    # --- list columns -----------------------------------------------------------------------

    @admin.display(description=gettext_lazy("name"), ordering="last_name")
    def full_name(self, obj):
        return obj.get_full_name()

    @admin.display(description=gettext_lazy("roles"))
    def roles_display(self, obj):
        roles = sorted(role_label(group.name) for group in obj.groups.all() if group.name in ROLES)
        return ", ".join(roles) or "—"

    # --- saving -----------------------------------------------------------------------------

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id is not None:
            target = self.get_object(request, unquote(object_id))
            if target is not None and self.has_change_permission(request, target):
                extra_context = {**(extra_context or {}),
                                 "user_actions": self._actions_for(request, target)}
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _SaveRefused as exc:
            # changeform_view's transaction has rolled back: nothing was saved.
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        if self._operator(request):
            request._staff_user_before = (
                user_snapshot(User.objects.get(pk=obj.pk)) if change else None
            )
            try:
                with transaction.atomic():
                    super().save_model(request, obj, form, change)
            except IntegrityError:
                raise _SaveRefused(
                    _("The email address %(email)s is already used by another account.")
                    % {"email": obj.email}
                ) from None
            return
        data, ip_address = form.cleaned_data, client_ip(request)
        try:
            if not change:
                user = user_create(
                    actor=request.user, username=data["username"], email=data["email"],
                    roles=data["roles"], first_name=data.get("first_name", ""),
                    last_name=data.get("last_name", ""), ip_address=ip_address,
                )
                obj.pk, obj._state.adding = user.pk, False
                return
            user_profile_update(
                actor=request.user, user_id=obj.pk, first_name=data.get("first_name", ""),
                last_name=data.get("last_name", ""), email=data.get("email", ""),
                ip_address=ip_address,
            )
            if data["roles"] != form.current_roles:
                user_roles_set(actor=request.user, user_id=obj.pk, roles=data["roles"],
                               ip_address=ip_address)
        except UserManagementError as exc:
            raise _SaveRefused(str(exc)) from None

    def save_related(self, request, form, formsets, change):
        if self._operator(request):
            super().save_related(request, form, formsets, change)
            user_operator_change_record(
                actor=request.user, user_id=form.instance.pk,
                before=request._staff_user_before, ip_address=client_ip(request),
            )
        # An Administrator's roles were set by the services in save_model.

    def response_add(self, request, obj, post_url_continue=None):
        if not self._operator(request) and IS_POPUP_VAR not in request.POST:
            self.message_user(request, _(
                "Now send %(username)s a password reset link: they set their own password."
            ) % {"username": obj.get_username()}, messages.INFO)
        return super().response_add(request, obj, post_url_continue)

    # --- passwords and status ---------------------------------------------------------------

    def user_change_password(self, request, id, form_url=""):
        # Only an operator sets a password; everyone else sends a reset link to its owner.
        if not self._operator(request):
            raise PermissionDenied
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:
            user_password_set_record(actor=request.user, user_id=unquote(id),
                                     ip_address=client_ip(request))
        return response

    ACTIONS = {
        "password_reset": {
            "label": gettext_lazy("Send password reset link"),
            "question": gettext_lazy(
                "Email %(username)s, at %(email)s, a link to set a new password? Their current "
                "password keeps working until they use it."),
            "done": gettext_lazy("A password reset link was sent to %(email)s."),
        },
        "deactivate": {
            "label": gettext_lazy("Deactivate"),
            "question": gettext_lazy(
                "Deactivate %(username)s? They can no longer sign in, and their open sessions end."),
            "done": gettext_lazy("%(username)s is deactivated."),
        },
        "reactivate": {
            "label": gettext_lazy("Reactivate"),
            "question": gettext_lazy("Reactivate %(username)s? They can sign in again."),
            "done": gettext_lazy("%(username)s is active again."),
        },
    }

    def _actions_for(self, request, target) -> list[dict]:
        if target.is_active:
            names = ["password_reset"] if target.email else []
            names += ["deactivate"] if target.pk != request.user.pk else []
        else:
            names = ["reactivate"]
        return [
            {"label": self.ACTIONS[name]["label"],
             "url": reverse(f"admin:auth_user_{name}", args=[target.pk])}
            for name in names
        ]

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<id>/password-reset/",
                 wrap(self.password_reset_view),
                 name="auth_user_password_reset"),
            path("<id>/deactivate/", wrap(self.deactivate_view), name="auth_user_deactivate"),
            path("<id>/reactivate/", wrap(self.reactivate_view), name="auth_user_reactivate"),
            *super().get_urls(),
        ]

    def password_reset_view(self, request, id):
        return self._user_action_view(request, id, "password_reset", lambda user, ip: (
            user_password_reset_send(actor=request.user, user_id=user.pk,
                                     domain=request.get_host(), use_https=request.is_secure(),
                                     ip_address=ip)))

    def deactivate_view(self, request, id):
        return self._user_action_view(request, id, "deactivate", lambda user, ip: (
            user_deactivate(actor=request.user, user_id=user.pk, ip_address=ip)))

    def reactivate_view(self, request, id):
        return self._user_action_view(request, id, "reactivate", lambda user, ip: (
            user_reactivate(actor=request.user, user_id=user.pk, ip_address=ip)))

    def _user_action_view(self, request, object_id, name, perform):
        target = self.get_object(request, unquote(object_id))
        if target is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_change_permission(request, target):
            raise PermissionDenied
        words = {"username": target.get_username(), "email": target.email}
        change_url = reverse("admin:auth_user_change", args=[target.pk])
        if request.method == "POST":
            try:
                perform(target, client_ip(request))
            except UserManagementError as exc:
                self.message_user(request, str(exc), messages.ERROR)
            else:
                self.message_user(request, self.ACTIONS[name]["done"] % words, messages.SUCCESS)
            return HttpResponseRedirect(change_url)
        return TemplateResponse(request, "admin/auth/user/confirm_action.html", {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": target,
            "title": self.ACTIONS[name]["label"],
            "question": self.ACTIONS[name]["question"] % words,
            "button": self.ACTIONS[name]["label"],
            "change_url": change_url,
        })


# --- sign-in lockouts (django-axes) ------------------------------------------------------------


@admin.register(AccessAttempt)
class AccessAttemptAdmin(AxesAccessAttemptAdmin):
    """Failed sign-ins per username and address, and whether the pair is locked out. Read-only;
    an unlock (deleting the record) goes through the audited service."""

    actions = ["unlock"]
    # django-axes' own labels are in English only: the same fields under our messages.
    fieldsets = (
        (None, {"fields": ("username", "path_info", "failures_since_start", "expiration")}),
        (gettext_lazy("Form data"), {"fields": ("get_data", "post_data")}),
        (gettext_lazy("Request"), {"fields": ("user_agent", "ip_address", "http_accept")}),
    )

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description=gettext_lazy("status"))
    def status(self, obj: AccessAttempt) -> str:
        left = settings.AXES_FAILURE_LIMIT - obj.failures_since_start
        if left > 0:
            return ngettext("%(n)d attempt left", "%(n)d attempts left", left) % {"n": left}
        return _("Locked out")

    @admin.display(description=gettext_lazy("expires"))
    def expiration(self, obj: AccessAttempt):
        return obj.expiration.expires_at if hasattr(obj, "expiration") else _("Not set")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    @admin.action(description=gettext_lazy("Unlock the selected usernames and addresses"),
                  permissions=["delete"])
    def unlock(self, request, queryset):
        count = login_lockout_clear(actor=request.user, ip_address=client_ip(request),
                                    attempt_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(request, _("%(count)d unlocked.") % {"count": count}, messages.SUCCESS)

    def delete_model(self, request, obj):
        login_lockout_clear(actor=request.user, attempt_ids=[obj.pk], ip_address=client_ip(request))

    def delete_queryset(self, request, queryset):
        login_lockout_clear(actor=request.user, ip_address=client_ip(request),
                            attempt_ids=list(queryset.values_list("pk", flat=True)))


@admin.register(AccessLog)
class AccessLogAdmin(AxesAccessLogAdmin):
    """Successful sign-ins and sign-outs. Read-only."""

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
