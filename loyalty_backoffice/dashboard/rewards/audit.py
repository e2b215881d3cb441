"""The audit trail and the approvals: read-only for everyone, in the admin as in the database."""

import json

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from kernel import permissions as perms
from loyalty_backoffice.dashboard.toolkit.filters import CreatedBetweenFilter
from loyalty_backoffice.dashboard.toolkit.finance_lists import FinanceListMixin
from loyalty_backoffice.dashboard.toolkit.list_guard import ascii_number
from loyalty_backoffice.dashboard.toolkit.mixins import ReadOnlyAdminMixin
from loyalty_backoffice.dashboard.toolkit.pagination import EstimatedCountPaginator
from rewards.models import Adjustment, Approval, AuditEntry
from rewards.selectors import audit_csv_rows
from staff.models import SavedFilter


def _adjustment_link(adjustment_id: int | None):
    if adjustment_id is None:
        return "—"
    url = reverse("admin:rewards_adjustment_change", args=[adjustment_id])
    return format_html('<a href="{}">#{}</a>', url, adjustment_id)


STATE_LABELS = dict(Adjustment.State.choices)


@admin.register(AuditEntry)
class AuditEntryAdmin(FinanceListMixin, ReadOnlyAdminMixin, ModelAdmin):
    finance_view = SavedFilter.View.AUDIT_TRAIL
    export_permission = perms.EXPORT_AUDIT_ENTRY
    export_file_name = "audit-trail"
    # State and comment are what the trail is read for; the address is on the entry's page.
    list_display = [
        "created_at", "action", "actor_name", "adjustment_link", "member", "state_change",
        "comment_short",
    ]
    list_display_links = ["created_at", "action"]
    # No date_hierarchy: its links cost a DISTINCT scan of the trail on every page.
    list_filter = ["action", "created_at", CreatedBetweenFilter]
    search_fields = ["=member__pomelo_user_id", "=actor_name"]
    search_help_text = _("Adjustment number, member's Pomelo user id, or the actor's user name.")
    list_select_related = ["member"]
    list_per_page = 100
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    show_facets = admin.ShowFacets.NEVER
    fieldsets = [
        (None, {"fields": ["created_at", "action", "actor", "actor_name", "adjustment_link",
                           "member", "from_state", "to_state", "comment"]}),
        (_("Technical details"), {"classes": ["collapse"], "fields": ["ip_address", "data_display"]}),
    ]
    readonly_fields = [
        "created_at", "action", "actor", "actor_name", "ip_address", "adjustment_link", "member",
        "from_state", "to_state", "comment", "data_display",
    ]

    def export_rows(self, queryset):
        return audit_csv_rows(queryset=queryset)

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        number = ascii_number(term.removeprefix("#"))
        if number is not None:
            # A number is an adjustment id, or a user id / name that happens to be digits.
            condition = (
                Q(adjustment_id=number) | Q(member__pomelo_user_id=term) | Q(actor_name=term)
            )
            return queryset.filter(condition), False
        return super().get_search_results(request, queryset, search_term)

    @admin.display(description=_("adjustment"), ordering="adjustment_id")
    def adjustment_link(self, obj: AuditEntry):
        return _adjustment_link(obj.adjustment_id)

    @admin.display(description=_("state"))
    def state_change(self, obj: AuditEntry):
        # State names as staff read them ("Pending approval"), not their codes.
        def label(state: str) -> str:
            return STATE_LABELS.get(state, state.replace("_", " ").capitalize())

        if obj.from_state == obj.to_state:
            return label(obj.to_state) if obj.to_state else ""
        if not obj.from_state:
            return _("New: %(state)s") % {"state": label(obj.to_state)}
        return f"{label(obj.from_state)} → {label(obj.to_state) if obj.to_state else '—'}"

    @admin.display(description=_("comment"))
    def comment_short(self, obj: AuditEntry):
        return obj.comment if len(obj.comment) <= 80 else f"{obj.comment[:79]}…"

    @admin.display(description=_("data"))
    def data_display(self, obj: AuditEntry):
        return format_html(
            '<pre style="white-space: pre-wrap">{}</pre>',
            json.dumps(obj.data, indent=2, sort_keys=True, default=str),
        )


@admin.register(Approval)
class ApprovalAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = ["created_at", "adjustment_link", "approver", "comment"]
    list_filter = [("approver", admin.RelatedOnlyFieldListFilter), CreatedBetweenFilter]
    search_fields = ["=adjustment__member__pomelo_user_id", "=approver__username"]
    list_select_related = ["approver"]
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER
    fields = ["created_at", "adjustment_link", "approver", "comment"]
    readonly_fields = fields

    @admin.display(description=_("adjustment"), ordering="adjustment_id")
    def adjustment_link(self, obj: Approval):
        return _adjustment_link(obj.adjustment_id)
