"""Reconciliation runs and their results: what our ledger and Pomelo said, never applied."""

from django.contrib import admin
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from loyalty_backoffice.dashboard.toolkit.filters import account_type_filter, date_range_filter
from loyalty_backoffice.dashboard.toolkit.mixins import ReadOnlyAdminMixin, ReadOnlyInline
from loyalty_backoffice.dashboard.toolkit.pagination import EstimatedCountPaginator
from rewards.models import ReconciliationResult, ReconciliationRun


class DriftingFilter(admin.SimpleListFilter):
    """Drifting accounts by default: they are what a reconciliation is read for."""

    title = _("drift")
    parameter_name = "drift"

    def lookups(self, request, model_admin):
        return [("yes", _("Drifting")), ("no", _("In step")), ("all", _("All"))]

    def choices(self, changelist):
        current = self.value() or "yes"
        for value, label in self.lookup_choices:
            yield {
                "selected": current == value,
                "query_string": changelist.get_query_string({self.parameter_name: value}),
                "display": label,
            }

    def queryset(self, request, queryset):
        value = self.value() or "yes"
        if value == "yes":
            return queryset.filter(drifting=True)
        if value == "no":
            return queryset.filter(drifting=False)
        return queryset


class ReconciliationResultInline(ReadOnlyInline):
    model = ReconciliationResult
    fields = ["member", "account_type", "ledger_available", "pomelo_available", "difference",
              "drifting", "error", "note"]
    readonly_fields = fields
    ordering = ["member_id", "account_type"]
    verbose_name_plural = _("drifting or failed accounts")

    def get_queryset(self, request):
        # A run covers every account; its page lists only those that need a look.
        return (
            super().get_queryset(request).filter(Q(drifting=True) | ~Q(error=""))
            .select_related("member")
        )


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "id", "started_at", "finished_at", "status", "members_checked", "accounts_drifting",
        "errors", "adjustments_unsettled", "started_by",
    ]
    list_filter = ["status"]
    date_hierarchy = "started_at"
    list_select_related = ["started_by"]
    show_full_result_count = False
    fields = [
        "started_at", "finished_at", "status", "started_by", "members_checked",
        "accounts_drifting", "errors", "drifting_results", "adjustments_unsettled",
        "unsettled_adjustments_display",
    ]
    readonly_fields = fields
    inlines = [ReconciliationResultInline]

    @admin.display(description=_("results"))
    def drifting_results(self, obj: ReconciliationRun):
        url = reverse("admin:rewards_reconciliationresult_changelist")
        return format_html(
            '<a href="{}?run__id__exact={}&amp;drift=all">{}</a>', url, obj.pk,
            _("All results of this run"),
        )

    @admin.display(description=_("adjustments of unrecorded outcome"))
    def unsettled_adjustments_display(self, obj: ReconciliationRun):
        # Sent to Pomelo, outcome not recorded (lease over, or outcome unknown) when the run
        # started: Pomelo may have applied them, so they may explain part of the drift.
        if not obj.unsettled_adjustments:
            return _("None")
        items = format_html_join(
            "", '<li><a href="{}">#{}</a> {} · {} {} {} ({} <code>{}</code>)</li>',
            (
                (reverse("admin:rewards_adjustment_change", args=[item["id"]]), item["id"],
                 item["state"], item["member"], item["account_type"], item["signed_amount"],
                 _("key"), item["idempotency_key"])
                for item in obj.unsettled_adjustments
            ),
        )
        return format_html('<ul style="margin: 0">{}</ul>', items)


@admin.register(ReconciliationResult)
class ReconciliationResultAdmin(ReadOnlyAdminMixin, ModelAdmin):
    list_display = [
        "checked_at", "member_link", "account_type", "ledger_available", "pomelo_available",
        "difference", "drifting", "error", "note", "run",
    ]
    # A run writes one result per member and account type: no DISTINCT of account types, no
    # date_hierarchy.
    list_filter = [
        DriftingFilter, account_type_filter("account_type"),
        date_range_filter("checked_at", _("checked between")),
    ]
    search_fields = ["=member__pomelo_user_id", "member__name"]
    list_select_related = ["member", "run"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    show_facets = admin.ShowFacets.NEVER

    @admin.display(description=_("member"), ordering="member__pomelo_user_id")
    def member_link(self, obj: ReconciliationResult):
        url = reverse("admin:accounts_member_change", args=[obj.member_id])
        return format_html('<a href="{}">{}</a>', url, obj.member)
