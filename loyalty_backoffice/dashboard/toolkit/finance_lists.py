"""What the finance lists (adjustments, the audit trail, the ledger, reward events) share: the
CSV export of the list as it is filtered, and each person's saved filters.

A model admin mixes `FinanceListMixin` in before `ModelAdmin` and names its list
(`finance_view`, a `SavedFilter.View`), the export's permission and the selector that writes
the rows. The list shows the tools above its results (`list_before_template`).
"""

import copy
from collections.abc import Iterable

from django import forms
from django.contrib import messages
from django.contrib.admin.options import IncorrectLookupParameters
from django.contrib.admin.views.main import ORDER_VAR, SEARCH_VAR
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponseRedirect, QueryDict
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kernel.client_ip import client_ip
from loyalty_backoffice.dashboard.toolkit.csv_export import csv_response
from rewards.services.exports import ExportRefused, csv_export_record
from staff.models import SavedFilter
from staff.selectors import saved_filters_for
from staff.services_saved_filters import (
    saved_filter_create,
    saved_filter_delete,
    saved_filter_query_clean,
)


class SavedFilterForm(forms.Form):
    name = forms.CharField(
        label=gettext_lazy("Name"), max_length=SavedFilter.NAME_MAX_LENGTH, required=False,
        help_text=gettext_lazy("Only you see your saved filters."),
    )
    query = forms.CharField(widget=forms.HiddenInput, required=False)


class FinanceListMixin:
    finance_view: str  # a SavedFilter.View value; also the export's name in the audit trail
    export_permission: str
    export_file_name: str
    list_before_template = "admin/includes/finance_list_tools.html"

    def export_rows(self, queryset) -> Iterable[list[str]]:
        raise NotImplementedError

    def _url_name(self, suffix: str) -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_{suffix}"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("export/", wrap(self.export_view), name=self._url_name("export")),
            path("saved-filters/save/", wrap(self.saved_filter_save_view),
                 name=self._url_name("saved_filter_save")),
            path("saved-filters/<int:saved_filter_id>/delete/",
                 wrap(self.saved_filter_delete_view), name=self._url_name("saved_filter_delete")),
            *super().get_urls(),
        ]

    def _changelist_url(self, query: str = "") -> str:
        url = reverse(f"admin:{self._url_name('changelist')}")
        return f"{url}?{query}" if query else url

    def may_export(self, request) -> bool:
        return request.user.has_perm(self.export_permission) and self.has_view_permission(request)

    def changelist_view(self, request, extra_context=None):
        if self.has_view_permission(request):
            extra_context = {
                **(extra_context or {}),
                "can_export": self.may_export(request),
                "export_url": reverse(f"admin:{self._url_name('export')}"),
                "saved_filter_save_url": reverse(f"admin:{self._url_name('saved_filter_save')}"),
                "saved_filters": [
                    {"name": saved.name, "url": self._changelist_url(saved.query),
                     "delete_url": reverse(f"admin:{self._url_name('saved_filter_delete')}",
                                           args=[saved.pk])}
                    for saved in saved_filters_for(user=request.user, view=self.finance_view)
                ],
            }
        return super().changelist_view(request, extra_context)

    # --- the export ---------------------------------------------------------------------

    def export_view(self, request):
        """The list's filtered set as CSV, streamed; the export itself is audited first."""
        if not self.may_export(request):
            raise PermissionDenied
        try:
            changelist = self.get_changelist_instance(request)
        except IncorrectLookupParameters as exc:
            self.message_user(request, _("Nothing was exported: the filters are not valid (%(error)s).")
                              % {"error": exc}, messages.ERROR)
            return HttpResponseRedirect(self._changelist_url())
        filters = {
            key: values[0] if len(values) == 1 else values for key, values in request.GET.lists()
        }
        try:
            csv_export_record(export=str(self.finance_view), actor=request.user, filters=filters,
                              query=request.GET.urlencode(), ip_address=client_ip(request))
        except ExportRefused:
            raise PermissionDenied from None
        return csv_response(self.export_rows(changelist.queryset), name=self.export_file_name)

    # --- saved filters ------------------------------------------------------------------

    def _list_parameters(self, request, query: str) -> set[str]:
        """The parameters the list understands: its filters', its search and its ordering.
        Raises IncorrectLookupParameters when `query` is no valid filter of the list."""
        probe = copy.copy(request)
        probe.GET = QueryDict(query)
        changelist = self.get_changelist_instance(probe)
        names = {SEARCH_VAR, ORDER_VAR}
        for spec in changelist.filter_specs:
            names.update(spec.expected_parameters())
        return names

    def _known_parameters(self, request) -> set[str]:
        try:
            return self._list_parameters(request, "")
        except IncorrectLookupParameters:
            return {SEARCH_VAR, ORDER_VAR}

    def saved_filter_save_view(self, request):
        """GET: the name to give the filters in the address; POST: save them and open them."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if request.method == "POST":
            form = SavedFilterForm(request.POST)
        else:
            form = SavedFilterForm(initial={"query": request.GET.urlencode()})
        query = form.data.get("query", "") if form.is_bound else request.GET.urlencode()
        if form.is_bound and form.is_valid():
            try:
                allowed, invalid = self._list_parameters(request, query), ""
            except IncorrectLookupParameters as exc:
                allowed = self._known_parameters(request)
                invalid = _("These filters are not valid for this list (%(error)s). Nothing was "
                            "saved.") % {"error": exc}
            try:
                if invalid:
                    # Name the parameters the list does not know, if that is the reason.
                    saved_filter_query_clean(query=query, allowed_parameters=allowed)
                    raise ValidationError({"query": invalid})
                saved = saved_filter_create(
                    user=request.user, view=self.finance_view, name=form.cleaned_data["name"],
                    query=query, allowed_parameters=allowed,
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                self.message_user(request, _("Filter “%(name)s” saved.") % {"name": saved.name},
                                  messages.SUCCESS)
                return HttpResponseRedirect(self._changelist_url(saved.query))
        return TemplateResponse(request, "admin/saved_filters/save.html", {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": _("Save these filters"),
            "form": form,
            "filters": sorted(QueryDict(query).lists()),
            "changelist_url": self._changelist_url(query),
        })

    def saved_filter_delete_view(self, request, saved_filter_id: int):
        if request.method != "POST":
            return HttpResponseRedirect(self._changelist_url())
        if not self.has_view_permission(request):
            raise PermissionDenied
        if not saved_filter_delete(user=request.user, saved_filter_id=saved_filter_id):
            raise Http404(_("You have no saved filter with this number."))
        self.message_user(request, _("Saved filter deleted."), messages.SUCCESS)
        return HttpResponseRedirect(self._changelist_url())
