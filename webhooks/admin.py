from django.contrib import admin, messages

from loyalty_backoffice.admin_mixins import ReadOnlyAdminMixin
from loyalty_backoffice.client_ip import client_ip
from webhooks.models import Delivery
from webhooks.services import delivery_reprocess


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id", "received_at", "kind", "outcome", "http_status", "idempotency_key", "remote_addr",
    ]
    list_filter = ["outcome", "kind", "http_status"]
    search_fields = ["=idempotency_key", "=event_id", "=api_key"]
    date_hierarchy = "received_at"
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
