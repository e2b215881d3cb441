"""Reconciliation runs and their results: what our ledger and Pomelo said, never applied."""

from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin

from kernel import permissions as perms
from kernel.client_ip import client_ip
from loyalty_backoffice.dashboard.toolkit.display import local_time
from loyalty_backoffice.dashboard.toolkit.filters import account_type_filter, date_range_filter
from loyalty_backoffice.dashboard.toolkit.mixins import (
    AccountTypeShownMixin,
    ReadOnlyAdminMixin,
    ReadOnlyInline,
)
from loyalty_backoffice.dashboard.toolkit.pagination import EstimatedCountPaginator
from rewards.models import ReconciliationResult, ReconciliationRun
from rewards.services.reconciliation import (
    ReconciliationBusy,
    reconciliation_active,
    reconciliation_request,
)

# While a run is queued or running, its list reloads itself this often (seconds).
REFRESH_SECONDS = 5


def _interval_words(seconds: int) -> str:
    if seconds % 86400 == 0:
        days = seconds // 86400
        return ngettext("every day", "every %(count)d days", days) % {"count": days}
    if seconds % 3600 == 0:
        hours = seconds // 3600
        return ngettext("every hour", "every %(count)d hours", hours) % {"count": hours}
    if seconds % 60 == 0:
        minutes = seconds // 60
        return ngettext("every minute", "every %(count)d minutes", minutes) % {"count": minutes}
    return ngettext("every second", "every %(count)d seconds", seconds) % {"count": seconds}


def reconciliation_schedule_words(*, now: datetime | None = None) -> str:
    """When the scheduler runs reconciliation (SCHEDULER_INTERVALS), in a sentence: its slots
    are aligned on the Unix epoch in UTC (ops.timetable), so the next one can be named."""
    seconds = int(settings.SCHEDULER_INTERVALS.get("reconciliation", 0) or 0)
    if seconds <= 0:
        return _("Reconciliation is not scheduled here (it is turned off in "
                 "SCHEDULER_INTERVALS): runs happen only when staff start one.")
    now = now or timezone.now()
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    elapsed = int((now - epoch).total_seconds())
    next_slot = epoch + timedelta(seconds=elapsed - elapsed % seconds + seconds)
    return _("Reconciliation runs %(interval)s on the scheduler's timetable; the next "
             "scheduled run starts at %(next)s.") % {
        "interval": _interval_words(seconds), "next": local_time(next_slot)}


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


class ReconciliationResultInline(AccountTypeShownMixin, ReadOnlyInline):
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
    # What a shift reads at 1366 px; the id and the end time are on the run's page.
    list_display = [
        "started_at", "status_badge", "progress_shown", "accounts_drifting", "errors",
        "adjustments_unsettled", "started_by",
    ]
    list_display_links = ["started_at"]
    list_filter = ["status"]
    date_hierarchy = "started_at"
    list_select_related = ["started_by"]
    show_full_result_count = False
    fields = [
        "started_at", "finished_at", "status", "started_by", "members_checked", "members_total",
        "accounts_drifting", "errors", "drifting_results", "adjustments_unsettled",
        "unsettled_adjustments_display",
    ]
    readonly_fields = fields
    inlines = [ReconciliationResultInline]

    def get_urls(self):
        return [
            path("run-now/", self.admin_site.admin_view(self.run_now_view),
                 name="rewards_reconciliationrun_run_now"),
            *super().get_urls(),
        ]

    def has_run_now_permission(self, request) -> bool:
        return request.user.has_perm(perms.ADD_RECONCILIATION_RUN)

    def changelist_view(self, request, extra_context=None):
        active = reconciliation_active()
        extra_context = {
            **(extra_context or {}),
            "can_run_now": self.has_run_now_permission(request),
            "active_run": active,
            "refresh_seconds": REFRESH_SECONDS if active is not None else None,
            "schedule_words": reconciliation_schedule_words(),
            "any_run": active is not None or ReconciliationRun.objects.exists(),
        }
        return super().changelist_view(request, extra_context)

    def run_now_view(self, request):
        """POST from the list: queue a run now, unless one is queued or under way."""
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not self.has_run_now_permission(request):
            raise PermissionDenied(_("Starting a reconciliation run is for administrators."))
        try:
            run = reconciliation_request(requested_by=request.user, ip_address=client_ip(request))
        except ReconciliationBusy as exc:
            self.message_user(request, str(exc), messages.WARNING)
        else:
            self.message_user(request, _(
                "Reconciliation run #%(run)s is queued; this page follows it until it ends."
            ) % {"run": run.pk}, messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:rewards_reconciliationrun_changelist"))

    @admin.display(description=_("status"), ordering="status")
    def status_badge(self, obj: ReconciliationRun):
        return format_html('<span class="recon-status recon-{}">{}</span>', obj.status,
                           obj.get_status_display())

    @admin.display(description=_("members checked"))
    def progress_shown(self, obj: ReconciliationRun):
        if obj.members_total is None:
            return obj.members_checked
        return _("%(done)s of %(total)s") % {"done": obj.members_checked, "total": obj.members_total}

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
class ReconciliationResultAdmin(AccountTypeShownMixin, ReadOnlyAdminMixin, ModelAdmin):
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
