"""The hash chains for finance: anchors and verifications, read-only."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from loyalty_backoffice.dashboard.toolkit.mixins import ReadOnlyAdminMixin
from rewards.models import ChainAnchor, ChainVerification


@admin.register(ChainAnchor)
class ChainAnchorAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["created_at", "reason", "created_by", "digest", "audit_entry_id",
                    "audit_length", "ledger_accounts", "ledger_heads_recorded", "note"]
    list_filter = ["reason"]
    list_select_related = ["created_by"]
    show_facets = admin.ShowFacets.NEVER
    fields = ["created_at", "reason", "created_by", "note", "digest", "audit_entry_id",
              "audit_hash", "audit_length", "ledger_accounts", "ledger_heads_recorded"]
    readonly_fields = fields


@admin.register(ChainVerification)
class ChainVerificationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["started_at", "finished_at", "sound", "audit_entries", "ledger_entries",
                    "ledger_accounts", "anchors_checked", "seconds", "first_problem"]
    list_filter = ["sound"]
    show_facets = admin.ShowFacets.NEVER
    fields = ["started_at", "finished_at", "sound", "audit_entries", "ledger_entries",
              "ledger_accounts", "anchors_checked", "seconds", "problems_display"]
    readonly_fields = fields

    @admin.display(description=_("first broken link"))
    def first_problem(self, obj: ChainVerification):
        if not obj.problems:
            return "—"
        first = obj.problems[0]
        return _("%(chain)s, entry #%(entry)s: %(what)s") % {
            "chain": first["chain"], "entry": first["entry"], "what": first["what"]}

    @admin.display(description=_("broken links"))
    def problems_display(self, obj: ChainVerification):
        if not obj.problems:
            return _("none")
        return format_html("<ul>{}</ul>", format_html_join(
            "", "<li>{}, {} #{}: {}; {} <code>{}</code>, {} <code>{}</code></li>",
            ((p["chain"], _("entry"), p["entry"], p["what"], _("expected"), p["expected"], _("found"),
              p["found"])
             for p in obj.problems),
        ))
