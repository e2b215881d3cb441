# Deliveries keep the raw request bytes (a bytea/BLOB column instead of text, which could not
# hold NUL bytes or invalid UTF-8), say why a person should look at them (`review`), and may
# have no kind (the single URL with an event_id we cannot map). Signed notifications are no
# longer refused: those refused with 400 before are kept as flagged, so they are never pruned
# and can be reprocessed.

from django.db import migrations, models

SIGNED_BUT_REFUSED = {"outcome": "rejected", "http_status": 400}


def copy_text_bodies(apps, schema_editor):
    Delivery = apps.get_model("webhooks", "Delivery")
    rows = Delivery.objects.exclude(body_text="").values_list("pk", "body_text").order_by("pk")
    for pk, text in rows.iterator(chunk_size=2000):
        Delivery.objects.filter(pk=pk).update(body=text.encode("utf-8", "surrogatepass"))


def copy_bytes_back(apps, schema_editor):
    Delivery = apps.get_model("webhooks", "Delivery")
    rows = Delivery.objects.values_list("pk", "body").order_by("pk")
    for pk, raw in rows.iterator(chunk_size=2000):
        text = bytes(raw).decode("utf-8", "replace").replace("\x00", "\ufffd")
        Delivery.objects.filter(pk=pk).update(body_text=text)


def keep_signed_refusals(apps, schema_editor):
    """Signed bodies answered 400 become flagged, or duplicates / key reuses of the delivery
    that already claims their key."""
    Delivery = apps.get_model("webhooks", "Delivery")
    for delivery in Delivery.objects.filter(**SIGNED_BUT_REFUSED).order_by("pk").iterator():
        claimer = None
        if delivery.idempotency_key:
            claimer = (
                Delivery.objects.filter(
                    kind=delivery.kind, idempotency_key=delivery.idempotency_key,
                    outcome__in=["processed", "flagged"],
                )
                .exclude(pk=delivery.pk)
                .first()
            )
        if claimer is None:
            outcome, review = "flagged", f"refused before signed bodies were kept: {delivery.detail}"
        elif bytes(claimer.body) == bytes(delivery.body):
            outcome, review = "duplicate", ""
        else:
            outcome, review = "key_reused", f"same idempotency_key as delivery #{claimer.pk}, different body"
        Delivery.objects.filter(pk=delivery.pk).update(outcome=outcome, review=review[:500])


class Migration(migrations.Migration):

    dependencies = [
        ("webhooks", "0001_initial"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="delivery",
            options={
                "ordering": ["-received_at", "-id"],
                "permissions": [("reprocess_delivery", "Can reprocess a failed or flagged delivery")],
                "verbose_name_plural": "deliveries",
            },
        ),
        migrations.RemoveConstraint(
            model_name="delivery",
            name="delivery_one_claim_per_notification",
        ),
        migrations.RenameField(model_name="delivery", old_name="body", new_name="body_text"),
        migrations.AddField(
            model_name="delivery",
            name="body",
            field=models.BinaryField(blank=True, default=b""),
        ),
        migrations.RunPython(copy_text_bodies, copy_bytes_back),
        migrations.RemoveField(model_name="delivery", name="body_text"),
        migrations.AddField(
            model_name="delivery",
            name="review",
            field=models.CharField(
                blank=True, max_length=500,
                help_text="Why a person should look at this delivery; empty when nobody needs to.",
            ),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="kind",
            field=models.CharField(
                blank=True, max_length=16,
                choices=[("pending", "Pending reward"), ("confirmation", "Reward confirmation"),
                         ("cancellation", "Reward cancellation")],
            ),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="outcome",
            field=models.CharField(
                default="received", max_length=16,
                choices=[("received", "Received, not yet processed"), ("processed", "Processed"),
                         ("flagged", "Kept for review, no money moved"), ("duplicate", "Duplicate"),
                         ("key_reused", "Same key, different body"), ("rejected", "Rejected"),
                         ("failed", "Failed")],
            ),
        ),
        migrations.RunPython(keep_signed_refusals, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="delivery",
            index=models.Index(
                condition=models.Q(("review", ""), _negated=True), fields=["-received_at"],
                name="delivery_needs_review",
            ),
        ),
        migrations.AddConstraint(
            model_name="delivery",
            constraint=models.UniqueConstraint(
                condition=models.Q(("outcome__in", ["processed", "flagged"]),
                                   models.Q(("idempotency_key", ""), _negated=True)),
                fields=("kind", "idempotency_key"),
                name="delivery_one_claim_per_notification",
            ),
        ),
    ]
