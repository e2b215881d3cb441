# The intake's INSERT becomes the claim on a notification: deliveries waiting for the worker
# (received) or for another attempt (failed) hold their (kind, idempotency_key) too. A failed
# delivery whose notification another delivery has since claimed becomes that one's duplicate
# (or key reuse) first, so the wider constraint can be created. On PostgreSQL a trigger tells
# the inbox worker (LISTEN webhook_inbox) that work arrived, without a statement in the request.

from django.db import migrations, models

CLAIMING = ["received", "processed", "flagged", "failed"]

NOTIFY_FORWARD = """
CREATE OR REPLACE FUNCTION webhooks_delivery_notify() RETURNS trigger AS $$
BEGIN
    PERFORM pg_notify('webhook_inbox', '');
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER webhooks_delivery_notify AFTER INSERT ON webhooks_delivery
    FOR EACH STATEMENT EXECUTE FUNCTION webhooks_delivery_notify();
"""
NOTIFY_REVERSE = """
DROP TRIGGER IF EXISTS webhooks_delivery_notify ON webhooks_delivery;
DROP FUNCTION IF EXISTS webhooks_delivery_notify();
"""


def release_superseded_failures(apps, schema_editor):
    Delivery = apps.get_model("webhooks", "Delivery")
    failed = Delivery.objects.filter(outcome="failed").exclude(idempotency_key="").order_by("pk")
    for delivery in failed.iterator():
        claimer = (
            Delivery.objects.filter(
                kind=delivery.kind, idempotency_key=delivery.idempotency_key, outcome__in=CLAIMING
            )
            .exclude(pk=delivery.pk)
            .order_by("-outcome", "pk")  # processed and flagged before failed
            .first()
        )
        if claimer is None:
            continue
        if bytes(claimer.body) == bytes(delivery.body):
            outcome, review = "duplicate", ""
        else:
            outcome = "key_reused"
            review = f"same idempotency_key as delivery #{claimer.pk}, different body: not applied"
        Delivery.objects.filter(pk=delivery.pk).update(
            outcome=outcome, review=review, detail=f"{outcome} of delivery #{claimer.pk}"
        )


def notify_trigger(sql):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(sql, params=None)
    return run


class Migration(migrations.Migration):

    dependencies = [
        ('webhooks', '0002_raw_body_review_and_kept_signed_refusals'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='delivery',
            name='delivery_one_claim_per_notification',
        ),
        migrations.AddField(
            model_name='delivery',
            name='retry_at',
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='outcome',
            field=models.CharField(choices=[('received', 'Received, not yet applied'), ('processed', 'Processed'), ('flagged', 'Kept for review, no money moved'), ('duplicate', 'Duplicate'), ('key_reused', 'Same key, different body'), ('rejected', 'Rejected'), ('failed', 'Failed')], default='received', max_length=16),
        ),
        migrations.AddIndex(
            model_name='delivery',
            index=models.Index(condition=models.Q(('outcome', 'received')), fields=['received_at', 'id'], name='delivery_inbox_queue'),
        ),
        migrations.RunPython(release_superseded_failures, migrations.RunPython.noop),
        migrations.AddConstraint(
            model_name='delivery',
            constraint=models.UniqueConstraint(condition=models.Q(('outcome__in', ['received', 'processed', 'flagged', 'failed']), models.Q(('idempotency_key', ''), _negated=True)), fields=('kind', 'idempotency_key'), name='delivery_one_claim_per_notification'),
        ),
        migrations.RunPython(notify_trigger(NOTIFY_FORWARD), notify_trigger(NOTIFY_REVERSE)),
    ]
