"""Model and field names marked for translation: the same English words, no change to the schema."""

import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('webhooks', '0004_delivery_body_pruned_at'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='delivery',
            options={'ordering': ['-received_at', '-id'], 'permissions': [('reprocess_delivery', 'Can reprocess a failed or flagged delivery')], 'verbose_name': 'delivery', 'verbose_name_plural': 'deliveries'},
        ),
        migrations.AlterField(
            model_name='delivery',
            name='api_key',
            field=models.CharField(blank=True, max_length=100, verbose_name='api key'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='attempts',
            field=models.PositiveIntegerField(default=0, verbose_name='attempts'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='body',
            field=models.BinaryField(blank=True, default=b'', verbose_name='body'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='body_pruned_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='body pruned at'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='detail',
            field=models.TextField(blank=True, help_text='What processing did, or why it did not.', verbose_name='detail'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='endpoint',
            field=models.CharField(max_length=300, verbose_name='endpoint'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='event_id',
            field=models.CharField(blank=True, max_length=200, verbose_name='event id'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='headers',
            field=models.JSONField(default=dict, help_text='Request headers, secrets removed.', verbose_name='headers'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='http_status',
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='http status'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='idempotency_key',
            field=models.CharField(blank=True, max_length=200, verbose_name='idempotency key'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='kind',
            field=models.CharField(blank=True, choices=[('pending', 'Pending reward'), ('confirmation', 'Reward confirmation'), ('cancellation', 'Reward cancellation')], max_length=16, verbose_name='kind'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='outcome',
            field=models.CharField(choices=[('received', 'Received, not yet applied'), ('processed', 'Processed'), ('flagged', 'Kept for review, no money moved'), ('duplicate', 'Duplicate'), ('key_reused', 'Same key, different body'), ('rejected', 'Rejected'), ('failed', 'Failed')], default='received', max_length=16, verbose_name='outcome'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='processed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='processed at'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='received_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='received at'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='remote_addr',
            field=models.GenericIPAddressField(blank=True, null=True, verbose_name='remote addr'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='retry_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='retry at'),
        ),
        migrations.AlterField(
            model_name='delivery',
            name='review',
            field=models.CharField(blank=True, help_text='Why a person should look at this delivery; empty when nobody needs to.', max_length=500, verbose_name='review'),
        ),
    ]
