"""What a maker is told about their own requests: one row per decision or outcome."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from rewards.models.adjustments import Adjustment


class MakerNotification(models.Model):
    """One change of one of a maker's requests. Shown once on their next page (then `seen_at`
    is set) and emailed after the change commits. Holds no text: the message is written when it
    is shown, in the reader's language."""

    class Kind(models.TextChoices):
        APPROVED = "approved", "Approved"
        REJECTED = "rejected", "Rejected"
        FAILED = "failed", "Failed"
        EXPIRED = "expired", "Expired"

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="maker_notifications"
    )
    adjustment = models.ForeignKey(Adjustment, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    created_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            # Every page view asks for the reader's unseen ones: read off this small index.
            models.Index(fields=["user"], condition=models.Q(seen_at__isnull=True),
                         name="maker_notification_unseen"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: adjustment #{self.adjustment_id} {self.kind}"
