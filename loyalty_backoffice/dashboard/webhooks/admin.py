import hashlib
import json

from django.contrib import admin, messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.utils.html import format_html

from kernel.client_ip import client_ip
from loyalty_backoffice.dashboard.toolkit.filters import date_range_filter
from loyalty_backoffice.dashboard.toolkit.list_guard import ascii_number
from loyalty_backoffice.dashboard.toolkit.mixins import ReadOnlyAdminMixin
from loyalty_backoffice.dashboard.toolkit.pagination import EstimatedCountPaginator
from webhooks.models import Delivery
from webhooks.services import delivery_reprocess

# Bodies are at most POMELO_WEBHOOK_MAX_BODY_BYTES; the page shows this much of one.
BODY_SHOWN_BYTES = 64 * 1024


def bytes_readable(raw: bytes) -> str:
    """Bytes as text a person can read and copy: UTF-8 where it is valid, `\\xNN` for every
    other byte, and escapes for control characters other than newlines and tabs (a NUL byte
    reads as \\x00). The result is plain text: templates escape it for HTML."""
    text = raw.decode("utf-8", "backslashreplace")
    return "".join(
        ch if ch.isprintable() or ch in "\n\t" else ch.encode("unicode_escape").decode("ascii")
        for ch in text
    )


class HttpStatusFilter(admin.SimpleListFilter):
    """The statuses the intake answers with (see the webhook contract), without a DISTINCT
    scan of the inbox on every page. Same parameter as Django's field filter."""

    title = "HTTP status"
    parameter_name = "http_status__exact"
    STATUSES = [
        (200, "200 processed, flagged or duplicate"),
        (400, "400 invalid payload (before signed bodies were kept)"),
        (401, "401 invalid signature"),
        (403, "403 forbidden address"),
        (405, "405 method not allowed"),
        (411, "411 length required"),
        (413, "413 payload too large"),
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


class NeedsReviewFilter(admin.SimpleListFilter):
    """Deliveries a person should look at: flagged, a key reused with another body, or applied
    with a warning (a balance below zero, say)."""

    title = "needs review"
    parameter_name = "needs_review"

    def lookups(self, request, model_admin):
        return [("yes", "Needs review"), ("no", "Nothing to review")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(review="")
        if self.value() == "no":
            return queryset.filter(review="")
        return queryset


@admin.register(Delivery)
class DeliveryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = [
        "id", "received_at", "kind", "outcome_badge", "http_status", "idempotency_key",
        "review_shown", "remote_addr",
    ]
    # No date_hierarchy (a DISTINCT scan of the inbox per page): a received-between filter.
    list_filter = [
        NeedsReviewFilter, "outcome", "kind", HttpStatusFilter,
        date_range_filter("received_at", "received between"),
    ]
    search_fields = ["=idempotency_key", "=event_id", "=api_key"]
    paginator = EstimatedCountPaginator
    readonly_fields = [
        "kind", "endpoint", "received_at", "remote_addr", "api_key", "event_id",
        "idempotency_key", "outcome", "http_status", "review", "detail", "attempts", "processed_at",
        "headers", "body_shown",
    ]
    fields = readonly_fields
    actions = ["reprocess"]
    show_full_result_count = False

    def get_queryset(self, request):
        # The list never shows bodies (up to 64 KiB each); the change page reads it.
        queryset = super().get_queryset(request)
        url_name = getattr(request.resolver_match, "url_name", "") or ""
        return queryset.defer("body") if url_name.endswith("changelist") else queryset

    @admin.display(description="outcome", ordering="outcome")
    def outcome_badge(self, obj: Delivery):
        return format_html(
            '<span class="delivery-outcome outcome-{}">{}</span>', obj.outcome, obj.get_outcome_display()
        )

    @admin.display(description="review")
    def review_shown(self, obj: Delivery):
        if not obj.review:
            return ""
        shown = obj.review if len(obj.review) <= 80 else obj.review[:79] + "…"
        return format_html('<span class="delivery-review" title="{}">{}</span>', obj.review, shown)

    @admin.display(description="body")
    def body_shown(self, obj: Delivery):
        raw = bytes(obj.body)
        if not raw:
            return "—"
        text = bytes_readable(raw[:BODY_SHOWN_BYTES])
        try:
            json.loads(raw)
            valid = "valid JSON"
        except (ValueError, RecursionError):
            valid = "not valid JSON"
        facts = f"{len(raw)} bytes, {valid}, SHA-256 {hashlib.sha256(raw).hexdigest()}"
        return format_html('<p class="delivery-body-facts">{}</p><pre class="delivery-body">{}</pre>',
                           facts, text)

    def has_reprocess_permission(self, request):
        return request.user.has_perm("webhooks.reprocess_delivery")

    @admin.action(description="Reprocess selected failed or flagged deliveries", permissions=["reprocess"])
    def reprocess(self, request, queryset):
        for delivery_id in queryset.order_by("pk").values_list("pk", flat=True):
            result = delivery_reprocess(
                delivery_id=delivery_id, actor=request.user, ip_address=client_ip(request)
            )
            level = {
                Delivery.Outcome.PROCESSED: messages.SUCCESS,
                Delivery.Outcome.DUPLICATE: messages.INFO,
                Delivery.Outcome.FLAGGED: messages.WARNING,
                Delivery.Outcome.KEY_REUSED: messages.WARNING,
            }.get(result.outcome, messages.ERROR)
            self.message_user(
                request, f"Delivery #{result.delivery_id}: {result.outcome} — {result.message}", level
            )
