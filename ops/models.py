"""What the scheduler and the worker record about themselves."""

from django.db import models
from django.utils import timezone


class JobRun(models.Model):
    """One slot of one scheduled job: enqueued once, run at most once.

    (job, slot) is unique, so two schedulers that both see a slot come due create one row
    between them: the loser's insert fails and it enqueues nothing.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        # Another run of the same job still held its lock: this one did nothing.
        SKIPPED = "skipped", "Skipped (another run held the lock)"

    job = models.CharField(max_length=64)
    slot = models.DateTimeField(help_text="The start of the period this run covers (UTC).")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    enqueued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    result = models.TextField(blank=True)

    class Meta:
        ordering = ["-slot", "job"]
        constraints = [models.UniqueConstraint(fields=["job", "slot"], name="job_run_one_per_slot")]
        indexes = [models.Index(fields=["job", "status"])]

    def __str__(self) -> str:
        return f"{self.job} @ {self.slot:%Y-%m-%d %H:%M} {self.status}"


class WorkerHeartbeat(models.Model):
    """Written by a task the scheduler queues each minute: proof that a worker takes tasks."""

    name = models.CharField(max_length=64, primary_key=True)
    beat_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} {self.beat_at:%Y-%m-%d %H:%M:%S}"
