"""The delivery inbox: every webhook request we answered, as it arrived."""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from rewards.models import NotificationKind


class Delivery(models.Model):
    class Outcome(models.TextChoices):
        RECEIVED = "received", _("Received, not yet applied")
        PROCESSED = "processed", _("Processed")
        FLAGGED = "flagged", _("Kept for review, no money moved")
        DUPLICATE = "duplicate", _("Duplicate")
        KEY_REUSED = "key_reused", _("Same key, different body")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", _("Failed")

    # Outcomes that claim a notification: a second delivery with the same key is a duplicate
    # (same body) or a key reuse (another body). The intake's INSERT is the claim, so a
    # delivery waiting for the worker (received) or for its next attempt (failed) holds it too.
    # A delivery without a readable key claims nothing.
    CLAIMING_OUTCOMES = (Outcome.RECEIVED, Outcome.PROCESSED, Outcome.FLAGGED, Outcome.FAILED)
    # Signed deliveries a person can apply again once the cause is gone.
    REPROCESSABLE_OUTCOMES = (Outcome.FAILED, Outcome.FLAGGED)

    # Empty when the single URL received an event_id we cannot map, and on refused requests
    # to it.
    kind = models.CharField(max_length=16, choices=NotificationKind.choices, blank=True,
        verbose_name=_("kind"))
    endpoint = models.CharField(max_length=300, verbose_name=_("endpoint"))
    headers = models.JSONField(default=dict, help_text=_("Request headers, secrets removed."),
        verbose_name=_("headers"))
    # The bytes as they arrived (NUL bytes, invalid UTF-8 and all): the signature covers them,
    # and a reprocessing reads them again.
    body = models.BinaryField(blank=True, default=b"", verbose_name=_("body"))
    api_key = models.CharField(max_length=100, blank=True, verbose_name=_("api key"))
    remote_addr = models.GenericIPAddressField(null=True, blank=True, verbose_name=_("remote addr"))
    received_at = models.DateTimeField(default=timezone.now, db_index=True, verbose_name=_("received at"))
    event_id = models.CharField(max_length=200, blank=True, verbose_name=_("event id"))
    idempotency_key = models.CharField(max_length=200, blank=True, verbose_name=_("idempotency key"))
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RECEIVED,
        verbose_name=_("outcome"))
    http_status = models.PositiveSmallIntegerField(null=True, blank=True, verbose_name=_("http status"))
    detail = models.TextField(blank=True, help_text=_("What processing did, or why it did not."),
        verbose_name=_("detail"))
    review = models.CharField(
        max_length=500, blank=True,
        help_text=_("Why a person should look at this delivery; empty when nobody needs to."),
            verbose_name=_("review"),
    )
    processed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("processed at"))
    attempts = models.PositiveIntegerField(default=0, verbose_name=_("attempts"))
    # Set when the retention emptied `body` (written to an archive first, if asked): the row
    # stays, as the claim on its notification and the record of what happened.
    body_pruned_at = models.DateTimeField(null=True, blank=True, verbose_name=_("body pruned at"))
    # When the worker may try a received delivery again after a failed attempt; empty: now.
    retry_at = models.DateTimeField(null=True, blank=True, verbose_name=_("retry at"))

    class Meta:
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")
        permissions = [("reprocess_delivery", "Can reprocess a failed or flagged delivery")]
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "idempotency_key"],
                condition=models.Q(outcome__in=["received", "processed", "flagged", "failed"])
                & ~models.Q(idempotency_key=""),
                name="delivery_one_claim_per_notification",
            ),
        ]
        indexes = [
            models.Index(fields=["outcome", "received_at"]),
            # The worker's queue, oldest first; small because applied deliveries leave it.
            models.Index(
                fields=["received_at", "id"], condition=models.Q(outcome="received"),
                name="delivery_inbox_queue",
            ),
            models.Index(fields=["kind", "idempotency_key"]),
            # The inbox's "needs review" filter, newest first, without scanning the rest.
            models.Index(
                fields=["-received_at"], condition=~models.Q(review=""), name="delivery_needs_review"
            ),
        ]

    def __str__(self) -> str:
        kind = self.get_kind_display() or "-"
        return f"#{self.pk} {kind} {self.idempotency_key or '-'} {self.get_outcome_display()}"
