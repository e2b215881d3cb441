"""The delivery inbox: every webhook request that passed the size check, as it arrived."""

from django.db import models
from django.utils import timezone

from rewards.models import NotificationKind


class Delivery(models.Model):
    class Outcome(models.TextChoices):
        RECEIVED = "received", "Received, not yet processed"
        PROCESSED = "processed", "Processed"
        FLAGGED = "flagged", "Stored for review, no ledger effect"
        DUPLICATE = "duplicate", "Duplicate"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"

    # Outcomes that claim a notification: a second delivery with the same key is a duplicate.
    CLAIMING_OUTCOMES = (Outcome.PROCESSED, Outcome.FLAGGED)

    kind = models.CharField(max_length=16, choices=NotificationKind.choices)
    endpoint = models.CharField(max_length=300)
    headers = models.JSONField(default=dict, help_text="Request headers, secrets removed.")
    body = models.TextField(blank=True)
    api_key = models.CharField(max_length=100, blank=True)
    remote_addr = models.GenericIPAddressField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now, db_index=True)
    event_id = models.CharField(max_length=200, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.RECEIVED)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    detail = models.TextField(blank=True, help_text="What processing did, or why it did not.")
    processed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name_plural = "deliveries"
        permissions = [("reprocess_delivery", "Can reprocess a failed delivery")]
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "idempotency_key"],
                condition=models.Q(outcome__in=["processed", "flagged"]),
                name="delivery_one_claim_per_notification",
            ),
        ]
        indexes = [
            models.Index(fields=["outcome", "received_at"]),
            models.Index(fields=["kind", "idempotency_key"]),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.kind} {self.idempotency_key or '-'} {self.outcome}"
