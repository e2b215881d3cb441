"""Model and field names marked for translation: the same English words, no change to the schema."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_verbose_names_translatable'),
        ('bulk_adjustments', '0001_initial'),
        ('rewards', '0018_verbose_names_translatable'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='bulkapproval',
            options={'ordering': ['created_at', 'id'], 'verbose_name': 'bulk approval', 'verbose_name_plural': 'bulk approvals'},
        ),
        migrations.AlterModelOptions(
            name='bulkrow',
            options={'ordering': ['batch', 'line'], 'verbose_name': 'bulk row', 'verbose_name_plural': 'bulk rows'},
        ),
        migrations.AlterField(
            model_name='bulkapproval',
            name='approver',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='bulk_approvals_given', to=settings.AUTH_USER_MODEL, verbose_name='approver'),
        ),
        migrations.AlterField(
            model_name='bulkapproval',
            name='batch',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='approvals', to='bulk_adjustments.bulkbatch', verbose_name='batch'),
        ),
        migrations.AlterField(
            model_name='bulkapproval',
            name='comment',
            field=models.TextField(verbose_name='comment'),
        ),
        migrations.AlterField(
            model_name='bulkapproval',
            name='created_at',
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at'),
        ),
        migrations.AlterField(
            model_name='bulkbatch',
            name='approvals_required',
            field=models.PositiveSmallIntegerField(default=1, verbose_name='approvals required'),
        ),
        migrations.AlterField(
            model_name='bulkbatch',
            name='approved_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='approved at'),
        ),
        migrations.AlterField(
            model_name='bulkbatch',
            name='completed_at',
            field=models.DateTimeField(blank=True, help_text='When it was rejected, cancelled or expired.', null=True, verbose_name='completed at'),
        ),
        migrations.AlterField(
            model_name='bulkbatch',
            name='created_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='created at'),
        ),
        migrations.AlterField(
            model_name='bulkbatch',
            name='expires_at',
            field=models.DateTimeField(verbose_name='expires at'),
        ),
        migrations.AlterField(
            model_name='bulkbatch',
            name='file_name',
            field=models.CharField(max_length=255, verbose_name='file name'),
        ),
        migrations.AlterField(
            model_name='bulkbatch',
            name='file_sha256',
            field=models.CharField(help_text='SHA-256 of the uploaded file.', max_length=64, verbose_name='file sha256'),
        ),
        migrations.AlterField(
            model_name='bulkbatch',
            name='file_size',
            field=models.PositiveIntegerField(verbose_name='file size'),
        ),
        migrations.AlterField(
            model_name='bulkbatch',
            name='maker',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='bulk_batches_made', to=settings.AUTH_USER_MODEL, verbose_name='maker'),
        ),
        migrations.AlterField(
            model_name='bulkbatch',
            name='processed_at',
            field=models.DateTimeField(blank=True, help_text='When the worker last finished a pass over its rows.', null=True, verbose_name='processed at'),
        ),
        migrations.AlterField(
            model_name='bulkbatch',
            name='processing_started_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='processing started at'),
        ),
        migrations.AlterField(
            model_name='bulkbatch',
            name='row_count',
            field=models.PositiveIntegerField(help_text='Data lines in the file.', verbose_name='row count'),
        ),
        migrations.AlterField(
            model_name='bulkbatch',
            name='state',
            field=models.CharField(choices=[('pending_approval', 'Pending approval'), ('approved', 'Approved'), ('rejected', 'Rejected'), ('cancelled', 'Cancelled'), ('expired', 'Expired')], db_index=True, default='pending_approval', max_length=20, verbose_name='state'),
        ),
        migrations.AlterField(
            model_name='bulkbatch',
            name='totals',
            field=models.JSONField(default=dict, help_text="Valid rows' count and sum per account type and direction.", verbose_name='totals'),
        ),
        migrations.AlterField(
            model_name='bulkbatch',
            name='updated_at',
            field=models.DateTimeField(auto_now=True, verbose_name='updated at'),
        ),
        migrations.AlterField(
            model_name='bulkbatch',
            name='valid_count',
            field=models.PositiveIntegerField(verbose_name='valid count'),
        ),
        migrations.AlterField(
            model_name='bulkrow',
            name='account_type',
            field=models.CharField(blank=True, max_length=32, verbose_name='account type'),
        ),
        migrations.AlterField(
            model_name='bulkrow',
            name='adjustment',
            field=models.OneToOneField(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='bulk_row', to='rewards.adjustment', verbose_name='adjustment'),
        ),
        migrations.AlterField(
            model_name='bulkrow',
            name='amount',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=18, null=True, verbose_name='amount'),
        ),
        migrations.AlterField(
            model_name='bulkrow',
            name='attempts',
            field=models.PositiveIntegerField(default=0, verbose_name='attempts'),
        ),
        migrations.AlterField(
            model_name='bulkrow',
            name='batch',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='rows', to='bulk_adjustments.bulkbatch', verbose_name='batch'),
        ),
        migrations.AlterField(
            model_name='bulkrow',
            name='card',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.card', verbose_name='card'),
        ),
        migrations.AlterField(
            model_name='bulkrow',
            name='direction',
            field=models.CharField(blank=True, max_length=8, verbose_name='direction'),
        ),
        migrations.AlterField(
            model_name='bulkrow',
            name='error',
            field=models.TextField(blank=True, verbose_name='error'),
        ),
        migrations.AlterField(
            model_name='bulkrow',
            name='line',
            field=models.PositiveIntegerField(help_text='Line number in the file (the header is line 1).', verbose_name='line'),
        ),
        migrations.AlterField(
            model_name='bulkrow',
            name='member',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='accounts.member', verbose_name='member'),
        ),
        migrations.AlterField(
            model_name='bulkrow',
            name='pomelo_card_id',
            field=models.CharField(blank=True, max_length=64, verbose_name='pomelo card id'),
        ),
        migrations.AlterField(
            model_name='bulkrow',
            name='pomelo_user_id',
            field=models.CharField(blank=True, max_length=64, verbose_name='pomelo user id'),
        ),
        migrations.AlterField(
            model_name='bulkrow',
            name='previous_adjustments',
            field=models.JSONField(blank=True, default=list, verbose_name='previous adjustments'),
        ),
        migrations.AlterField(
            model_name='bulkrow',
            name='reason_code',
            field=models.CharField(blank=True, max_length=16, verbose_name='reason code'),
        ),
        migrations.AlterField(
            model_name='bulkrow',
            name='reason_text',
            field=models.TextField(blank=True, verbose_name='reason text'),
        ),
        migrations.AlterField(
            model_name='bulkrow',
            name='updated_at',
            field=models.DateTimeField(auto_now=True, verbose_name='updated at'),
        ),
        migrations.AlterField(
            model_name='bulkrow',
            name='valid',
            field=models.BooleanField(verbose_name='valid'),
        ),
    ]
