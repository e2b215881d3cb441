"""Bulk batches in the admin: upload a CSV, preview, confirm; the batch page with its progress,
approval, cancel, retry of failed rows and the result CSV.

The views parse input, call one service and show its answer; bulk_adjustments holds the rules.
The uploaded file waits in the maker's session (server-side) between preview and confirmation:
the confirmation posts only a signed token naming the file's hash and the preview's
fingerprint, never the rows.
"""

import base64
import functools
import hashlib

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core import signing
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bulk_adjustments.csv_file import BulkFileError
from bulk_adjustments.models import BulkBatch
from bulk_adjustments.selectors import (
    Outcome,
    batch_actions,
    batch_audit,
    batch_progress,
    batch_result_rows,
    batch_rows,
    row_outcome,
)
from bulk_adjustments.services import (
    BulkBatchError,
    bulk_batch_approve,
    bulk_batch_cancel,
    bulk_batch_create,
    bulk_batch_reject,
    bulk_file_preview,
    bulk_result_export_record,
    bulk_rows_retry,
)
from kernel import permissions as perms
from kernel.client_ip import client_ip
from loyalty_backoffice.dashboard.bulk_adjustments.forms import (
    BulkCommentForm,
    BulkConfirmForm,
    BulkReviewForm,
    BulkUploadForm,
)
from loyalty_backoffice.dashboard.toolkit.csv_export import csv_response
from loyalty_backoffice.dashboard.toolkit.filters import MadeByMeFilter
from loyalty_backoffice.dashboard.toolkit.mixins import ReadOnlyAdminMixin
from rewards.chain_tasks import chain_anchor_after_export

SESSION_KEY = "bulk_adjustments.upload"
TOKEN_SALT = "bulk_adjustments.preview"  # noqa: S105 - a namespace for signing, not a secret
TOKEN_MAX_AGE = 3600  # an hour to read the preview and confirm it
ROWS_PER_PAGE = 100
PREVIEW_ROWS_SHOWN = 200


def _outside_request_transaction(view):
    """The services commit on their own (durable transactions), so these views run without
    ATOMIC_REQUESTS' transaction."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        return view(*args, **kwargs)

    return transaction.non_atomic_requests(wrapper)


@admin.register(BulkBatch)
class BulkBatchAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["id", "created_at", "file_name", "maker", "state", "valid_count", "row_count",
                    "approvals_display", "processed_at"]
    list_display_links = ["id", "created_at", "file_name"]
    list_filter = [MadeByMeFilter, "state"]
    list_select_related = ["maker"]
    search_fields = ["=id", "file_name", "=file_sha256"]
    change_list_template = "admin/bulk_adjustments/bulkbatch/change_list.html"

    @admin.display(description=_("Approvals"))
    def approvals_display(self, obj: BulkBatch) -> str:
        return _("%(given)s of %(required)s") % {"given": obj.approvals.count(),
                                                 "required": obj.approvals_required}

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}),
                         "can_upload": request.user.has_perm(perms.ADD_BULK_BATCH)}
        return super().changelist_view(request, extra_context)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        quiet = _outside_request_transaction
        return [
            path("upload/", wrap(quiet(self.upload_view)), name="{}_{}_upload".format(*info)),
            path("confirm/", wrap(quiet(self.confirm_view)), name="{}_{}_confirm".format(*info)),
            path("<path:object_id>/review/", wrap(quiet(self.review_view)),
                 name="{}_{}_review".format(*info)),
            path("<path:object_id>/cancel/", wrap(quiet(self.cancel_view)),
                 name="{}_{}_cancel".format(*info)),
            path("<path:object_id>/retry/", wrap(quiet(self.retry_view)),
                 name="{}_{}_retry".format(*info)),
            path("<path:object_id>/result.csv", wrap(quiet(self.result_view)),
                 name="{}_{}_result".format(*info)),
            *super().get_urls(),
        ]

    # --- helpers ---------------------------------------------------------------------------

    def _render(self, request, template: str, title: str, **context):
        return TemplateResponse(request, f"admin/bulk_adjustments/{template}", {
            **self.admin_site.each_context(request), "opts": self.opts, "title": title, **context,
        })

    def _batch(self, request, object_id) -> BulkBatch:
        batch = self.get_object(request, unquote(object_id))
        if batch is None:
            raise Http404(f"Batch {object_id!r} does not exist.")
        if not self.has_view_permission(request, batch):
            raise PermissionDenied
        return batch

    def _page_redirect(self, batch: BulkBatch) -> HttpResponseRedirect:
        return HttpResponseRedirect(reverse("admin:bulk_adjustments_bulkbatch_change", args=[batch.pk]))

    # --- upload, preview, confirm ------------------------------------------------------------

    def upload_view(self, request):
        if not request.user.has_perm(perms.ADD_BULK_BATCH):
            raise PermissionDenied
        form = BulkUploadForm(request.POST or None, request.FILES or None)
        problems = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            limit = self._file_limit()
            content = upload.read(limit + 1)
            try:
                preview = bulk_file_preview(maker=request.user, file_name=upload.name,
                                            content=content, ip_address=client_ip(request))
            except BulkFileError as exc:
                problems = exc.problems
            except BulkBatchError as exc:
                form.add_error(None, str(exc))
            else:
                request.session[SESSION_KEY] = {
                    "name": upload.name, "content": base64.b64encode(content).decode(),
                }
                token = signing.dumps({"sha256": preview.file_sha256, "digest": preview.digest,
                                       "user": request.user.pk}, salt=TOKEN_SALT)
                return self._render(
                    request, "preview.html", _("Preview of %(name)s") % {"name": upload.name},
                    preview=preview, confirm_form=BulkConfirmForm(initial={"token": token}),
                    invalid_rows=preview.invalid_rows[:PREVIEW_ROWS_SHOWN],
                    valid_rows=preview.valid_rows[:PREVIEW_ROWS_SHOWN],
                    rows_shown=PREVIEW_ROWS_SHOWN,
                )
        status = 400 if request.method == "POST" else 200
        response = self._render(request, "upload.html", _("Upload bulk adjustments"), form=form,
                                problems=problems)
        response.status_code = status
        return response

    @staticmethod
    def _file_limit() -> int:
        from django.conf import settings

        return settings.BULK_ADJUSTMENT_MAX_FILE_BYTES

    def confirm_view(self, request):
        if not request.user.has_perm(perms.ADD_BULK_BATCH):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:bulk_adjustments_bulkbatch_upload"))
        form = BulkConfirmForm(request.POST)
        stored = request.session.get(SESSION_KEY)
        error = None
        token = None
        if form.is_valid():
            try:
                token = signing.loads(form.cleaned_data["token"], salt=TOKEN_SALT, max_age=TOKEN_MAX_AGE)
            except signing.BadSignature:
                error = gettext(
                    "This preview is no longer valid (too old or altered). Upload the file again.")
        else:
            error = gettext("Nothing to confirm. Upload the file again.")
        content = base64.b64decode(stored["content"]) if stored else None
        if error is None and (
            content is None or token.get("user") != request.user.pk
            or hashlib.sha256(content).hexdigest() != token.get("sha256")
        ):
            error = gettext("This preview does not match your last upload. Upload the file again.")
        if error is None:
            try:
                batch = bulk_batch_create(maker=request.user, file_name=stored["name"], content=content,
                                          previewed_digest=token["digest"], ip_address=client_ip(request))
            except (BulkBatchError, BulkFileError) as exc:
                error = str(exc)
            else:
                request.session.pop(SESSION_KEY, None)
                self.message_user(
                    request,
                    gettext("Batch #%(pk)s requested: %(rows)s rows wait for approval. Nothing moves "
                            "until it is approved.") % {"pk": batch.pk, "rows": batch.valid_count},
                    messages.SUCCESS)
                return self._page_redirect(batch)
        response = self._render(request, "upload.html", _("Upload bulk adjustments"),
                                form=BulkUploadForm(), problems=[error])
        response.status_code = 400
        return response

    # --- the batch page -------------------------------------------------------------------------

    def change_view(self, request, object_id, form_url="", extra_context=None):
        batch = self._batch(request, object_id)
        progress = batch_progress(batch=batch)
        outcome = request.GET.get("outcome")
        outcome = outcome if outcome in Outcome.LABELS else None
        rows = batch_rows(batch=batch, outcome=outcome)
        page = Paginator(rows, ROWS_PER_PAGE).get_page(request.GET.get("p"))
        # The outcome's label, in the reader's language; the filter links keep the codes.
        rows = [(row, Outcome.LABELS[row_outcome(row)]) for row in page.object_list]
        return self._render(
            request, "batch.html", str(batch), batch=batch, original=batch, progress=progress,
            actions=batch_actions(batch=batch, user=request.user, progress=progress),
            approvals=batch.approvals.select_related("approver"), rows=rows, page=page,
            outcome=outcome, outcome_labels=Outcome.LABELS, audit=batch_audit(batch=batch),
            refresh=batch.state == BulkBatch.State.APPROVED and not progress.finished,
        )

    def review_view(self, request, object_id):
        if not request.user.has_perm(perms.APPROVE_BULK_BATCH):
            raise PermissionDenied
        batch = self._batch(request, object_id)
        form = BulkReviewForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            data, ip_address = form.cleaned_data, client_ip(request)
            act = bulk_batch_approve if data["decision"] == "approve" else bulk_batch_reject
            try:
                batch = act(batch_id=batch.pk, approver=request.user, comment=data["comment"],
                            ip_address=ip_address)
            except BulkBatchError as exc:
                form.add_error(None, str(exc))
                batch.refresh_from_db()
            else:
                self.message_user(request, gettext("Batch #%(pk)s is %(state)s.") % {
                    "pk": batch.pk, "state": batch.get_state_display().lower()}, messages.SUCCESS)
                return self._page_redirect(batch)
        return self._render(request, "review.html", _("Review batch #%(pk)s") % {"pk": batch.pk}, batch=batch,
                            original=batch, form=form, approvals=batch.approvals.select_related("approver"),
                            actions=batch_actions(batch=batch, user=request.user))

    def cancel_view(self, request, object_id):
        batch = self._batch(request, object_id)
        form = BulkCommentForm(request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                batch = bulk_batch_cancel(batch_id=batch.pk, maker=request.user,
                                          comment=form.cleaned_data["comment"], ip_address=client_ip(request))
            except BulkBatchError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, gettext("Batch #%(pk)s cancelled.") % {"pk": batch.pk},
                                  messages.SUCCESS)
                return self._page_redirect(batch)
        return self._render(request, "confirm_action.html", _("Cancel batch #%(pk)s") % {"pk": batch.pk},
                            batch=batch,
                            original=batch, form=form, action="cancel",
                            actions=batch_actions(batch=batch, user=request.user))

    def retry_view(self, request, object_id):
        if not request.user.has_perm(perms.RETRY_BULK_BATCH):
            raise PermissionDenied
        batch = self._batch(request, object_id)
        form = BulkCommentForm(request.POST if request.method == "POST" else None)
        progress = batch_progress(batch=batch)
        if request.method == "POST" and form.is_valid():
            try:
                lines = bulk_rows_retry(batch_id=batch.pk, actor=request.user,
                                        comment=form.cleaned_data["comment"], ip_address=client_ip(request))
            except BulkBatchError as exc:
                form.add_error(None, str(exc))
            else:
                self.message_user(request, gettext(
                    "%(rows)s failed rows of batch #%(pk)s queued again with new adjustments; the rows "
                    "that succeeded are untouched.") % {"rows": len(lines), "pk": batch.pk},
                    messages.SUCCESS)
                return self._page_redirect(batch)
        return self._render(request, "confirm_action.html",
                            _("Retry failed rows of batch #%(pk)s") % {"pk": batch.pk},
                            batch=batch, original=batch, form=form, action="retry", progress=progress,
                            actions=batch_actions(batch=batch, user=request.user, progress=progress))

    def result_view(self, request, object_id):
        batch = self._batch(request, object_id)
        try:
            bulk_result_export_record(batch=batch, actor=request.user, ip_address=client_ip(request))
        except BulkBatchError:
            raise PermissionDenied from None
        # A finance export: it anchors the chain heads (docs/audit-chain.md), in the background.
        chain_anchor_after_export(actor=request.user, note=f"bulk batch #{batch.pk} result CSV")
        return csv_response(batch_result_rows(batch=batch), name=f"bulk-batch-{batch.pk}-result")
