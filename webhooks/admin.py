from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters

from loyalty_backoffice.admin_list_guard import ascii_number
from loyalty_backoffice.admin_mixins import ReadOnlyAdminMixin
from loyalty_backoffice.client_ip import client_ip
from rewards.admin.filters import date_range_filter
from rewards.admin.pagination import EstimatedCountPaginator
from webhooks.models import Delivery
from webhooks.services import delivery_reprocess


class HttpStatusFilter(admin.SimpleListFilter):
    """The statuses the intake answers with (see the webhook contract), without a DISTINCT
    scan of the inbox on every page. Same parameter as Django's field filter."""

    title = "HTTP status"
    parameter_name = "http_status__exact"
    STATUSES = [
        (200, "200 processed, duplicate or flagged"),
        (400, "400 invalid payload"),
        (401, "401 invalid signature"),
        (403, "403 forbidden address"),
        (500, "500 failed"),
    ]

    def lookups(self, request, model_admin):
        return [(str(code), label) for code, label in self.STATUSES]

    def queryset(self, request, queryset):
        value = self.value()
        if not value:
            return queryset
        status = ascii_number(value, max_digits=3)
        if status is None:
            raise IncorrectLookupParameters(f"HTTP status {value!r} is not a status code")
        return queryset.filter(http_status=status)


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id", "received_at", "kind", "outcome", "http_status", "idempotency_key", "remote_addr",
    ]
    # No date_hierarchy (a DISTINCT scan of the inbox per page): a received-between filter.
    list_filter = [
        "outcome", "kind", HttpStatusFilter, date_range_filter("received_at", "received between"),
    ]
    search_fields = ["=idempotency_key", "=event_id", "=api_key"]
    paginator = EstimatedCountPaginator
    readonly_fields = [
        "kind", "endpoint", "received_at", "remote_addr", "api_key", "event_id",
        "idempotency_key", "outcome", "http_status", "detail", "attempts", "processed_at",
        "headers", "body",
    ]
    fields = readonly_fields
    actions = ["reprocess"]
    show_full_result_count = False

    def has_reprocess_permission(self, request):
        return request.user.has_perm("webhooks.reprocess_delivery")

    @admin.action(description="Reprocess selected failed deliveries", permissions=["reprocess"])
    def reprocess(self, request, queryset):
        for delivery_id in queryset.order_by("pk").values_list("pk", flat=True):
            result = delivery_reprocess(
                delivery_id=delivery_id, actor=request.user, ip_address=client_ip(request)
            )
            level = {
                Delivery.Outcome.PROCESSED: messages.SUCCESS,
                Delivery.Outcome.DUPLICATE: messages.INFO,
                Delivery.Outcome.FLAGGED: messages.WARNING,
            }.get(result.outcome, messages.ERROR)
            self.message_user(
                request, f"Delivery #{result.delivery_id}: {result.outcome} — {result.message}", level
            )
