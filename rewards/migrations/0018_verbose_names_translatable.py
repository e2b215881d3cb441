"""Model and field names marked for translation: the same English words, no change to the schema."""

import django.core.validators
import django.db.models.deletion
import django.utils.timezone
import rewards.models.adjustments
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0004_verbose_names_translatable'),
        ('rewards', '0017_export_permissions'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='adjustment',
            options={'ordering': ['-created_at', '-id'], 'permissions': [('approve_adjustment', 'Can approve or reject adjustments'), ('retry_adjustment', 'Can resume a submission to Pomelo'), ('export_adjustment', 'Can export adjustments as CSV')], 'verbose_name': 'adjustment', 'verbose_name_plural': 'adjustments'},
        ),
        migrations.AlterModelOptions(
            name='approval',
            options={'ordering': ['created_at', 'id'], 'verbose_name': 'approval', 'verbose_name_plural': 'approvals'},
        ),
        migrations.AlterModelOptions(
            name='auditentry',
            options={'ordering': ['-created_at', '-id'], 'permissions': [('export_auditentry', 'Can export the audit trail as CSV')], 'verbose_name': 'audit entry', 'verbose_name_plural': 'audit entries'},
        ),
        migrations.AlterModelOptions(
            name='chainanchor',
            options={'ordering': ['-created_at', '-id'], 'verbose_name': 'chain anchor', 'verbose_name_plural': 'chain anchors'},
        ),
        migrations.AlterModelOptions(
            name='chainanchorhead',
            options={'verbose_name': 'chain anchor head', 'verbose_name_plural': 'chain anchor heads'},
        ),
        migrations.AlterModelOptions(
            name='chainhead',
            options={'verbose_name': 'chain head', 'verbose_name_plural': 'chain heads'},
        ),
        migrations.AlterModelOptions(
            name='chainverification',
            options={'ordering': ['-started_at', '-id'], 'verbose_name': 'chain verification', 'verbose_name_plural': 'chain verifications'},
        ),
        migrations.AlterModelOptions(
            name='ledgerentry',
            options={'ordering': ['-created_at', '-id'], 'permissions': [('export_ledgerentry', 'Can export ledger entries as CSV')], 'verbose_name': 'ledger entry', 'verbose_name_plural': 'ledger entries'},
        ),
        migrations.AlterModelOptions(
            name='reconciliationresult',
            options={'ordering': ['-checked_at', '-id'], 'verbose_name': 'reconciliation result', 'verbose_name_plural': 'reconciliation results'},
        ),
        migrations.AlterModelOptions(
            name='reconciliationrun',
            options={'ordering': ['-started_at', '-id'], 'verbose_name': 'reconciliation run', 'verbose_name_plural': 'reconciliation runs'},
        ),
        migrations.AlterModelOptions(
            name='rewardevent',
            options={'ordering': ['-created_at', '-id'], 'permissions': [('export_rewardevent', 'Can export reward events as CSV')], 'verbose_name': 'reward event', 'verbose_name_plural': 'reward events'},
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='account_type',
            field=models.CharField(max_length=32, verbose_name='account type'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='amount',
            field=models.DecimalField(decimal_places=2, max_digits=18, validators=[django.core.validators.MinValueValidator(Decimal('0.01'))], verbose_name='amount'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='approvals_required',
            field=models.PositiveSmallIntegerField(default=1, verbose_name='approvals required'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='approved_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='approved at'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='balance_override',
            field=models.BooleanField(default=False, help_text='An approver allowed a debit above the available balance.', verbose_name='balance override'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='card',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='adjustments', to='accounts.card', verbose_name='card'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='completed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='completed at'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='created_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='created at'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='direction',
            field=models.CharField(choices=[('credit', 'Credit (mint)'), ('debit', 'Debit (burn)')], max_length=8, verbose_name='direction'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='expires_at',
            field=models.DateTimeField(verbose_name='expires at'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='failure_reason',
            field=models.TextField(blank=True, verbose_name='failure reason'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='first_sent_at',
            field=models.DateTimeField(blank=True, help_text='When the first attempt was claimed; the idempotency window counts from here.', null=True, verbose_name='first sent at'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='idempotency_key',
            field=models.CharField(default=rewards.models.adjustments.idempotency_key_new, max_length=64, unique=True, verbose_name='idempotency key'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='lease_expires_at',
            field=models.DateTimeField(blank=True, help_text='If the latest attempt has recorded nothing by then, its worker is presumed dead.', null=True, verbose_name='lease expires at'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='maker',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='adjustments_made', to=settings.AUTH_USER_MODEL, verbose_name='maker'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='member',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='adjustments', to='accounts.member', verbose_name='member'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='pomelo_reference',
            field=models.CharField(blank=True, max_length=200, verbose_name='pomelo reference'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='pomelo_request',
            field=models.JSONField(blank=True, null=True, verbose_name='pomelo request'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='pomelo_response',
            field=models.TextField(blank=True, verbose_name='pomelo response'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='pomelo_status_code',
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='pomelo status code'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='reason_code',
            field=models.CharField(choices=[('goodwill', 'Goodwill'), ('correction', 'Correction'), ('dispute', 'Dispute'), ('fraud', 'Fraud'), ('migration', 'Migration'), ('other', 'Other')], max_length=16, verbose_name='reason code'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='reason_text',
            field=models.TextField(verbose_name='reason text'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='resolved_by',
            field=models.ForeignKey(blank=True, help_text='The approver who closed an adjustment of unknown outcome as applied or not.', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='resolved by'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='state',
            field=models.CharField(choices=[('pending_approval', 'Pending approval'), ('approved', 'Approved'), ('submitting', 'Submitting to Pomelo'), ('outcome_unknown', 'Outcome unknown'), ('succeeded', 'Succeeded'), ('failed', 'Failed'), ('rejected', 'Rejected'), ('cancelled', 'Cancelled'), ('expired', 'Expired')], db_index=True, default='pending_approval', max_length=20, verbose_name='state'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='submit_attempts',
            field=models.PositiveIntegerField(default=0, verbose_name='submit attempts'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='submitted_at',
            field=models.DateTimeField(blank=True, help_text='When the latest attempt was claimed.', null=True, verbose_name='submitted at'),
        ),
        migrations.AlterField(
            model_name='adjustment',
            name='updated_at',
            field=models.DateTimeField(auto_now=True, verbose_name='updated at'),
        ),
        migrations.AlterField(
            model_name='approval',
            name='adjustment',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='approvals', to='rewards.adjustment', verbose_name='adjustment'),
        ),
        migrations.AlterField(
            model_name='approval',
            name='approver',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='approvals_given', to=settings.AUTH_USER_MODEL, verbose_name='approver'),
        ),
        migrations.AlterField(
            model_name='approval',
            name='comment',
            field=models.TextField(verbose_name='comment'),
        ),
        migrations.AlterField(
            model_name='approval',
            name='created_at',
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name='created at'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='action',
            field=models.CharField(choices=[('adjustment_requested', 'Adjustment requested'), ('adjustment_approved', 'Approval given'), ('adjustment_rejected', 'Adjustment rejected'), ('adjustment_cancelled', 'Adjustment cancelled'), ('adjustment_expired', 'Adjustment expired'), ('adjustment_submitting', 'Submitting to Pomelo'), ('pomelo_exchange', 'Pomelo exchange'), ('adjustment_succeeded', 'Adjustment succeeded'), ('adjustment_failed', 'Adjustment failed'), ('adjustment_retried', 'Adjustment retried'), ('adjustment_resumed', 'Submission resumed'), ('adjustment_outcome_unknown', 'Outcome unknown'), ('adjustment_resent', 'Re-sent by an approver'), ('adjustment_closed', 'Outcome decided by an approver'), ('balance_checked', 'Balance checked at Pomelo'), ('delivery_reprocessed', 'Delivery reprocessed'), ('csv_exported', 'CSV exported'), ('reconciliation_requested', 'Reconciliation run requested'), ('user_created', 'User created'), ('user_changed', 'User changed'), ('user_roles_changed', "User's roles changed"), ('user_deactivated', 'User deactivated'), ('user_reactivated', 'User reactivated'), ('user_password_reset_requested', 'Password reset link requested'), ('user_password_reset_failed', 'Password reset link not sent'), ('user_password_set', 'Password set by an operator'), ('login_locked_out', 'Sign-in locked out'), ('login_unlocked', 'Sign-in unlocked'), ('chain_broken', 'Audit or ledger chain found broken'), ('bulk_file_previewed', 'Bulk file previewed'), ('bulk_batch_requested', 'Bulk batch requested'), ('bulk_batch_approved', 'Bulk batch approval given'), ('bulk_batch_rejected', 'Bulk batch rejected'), ('bulk_batch_cancelled', 'Bulk batch cancelled'), ('bulk_batch_expired', 'Bulk batch expired'), ('bulk_row_not_created', "Bulk row's adjustment not created"), ('bulk_batch_processed', 'Bulk batch processed'), ('bulk_rows_retried', "Bulk batch's failed rows retried"), ('bulk_result_exported', 'Bulk batch result downloaded')], db_index=True, max_length=32, verbose_name='action'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='actor',
            field=models.ForeignKey(blank=True, help_text='Empty for the system (background tasks).', null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='actor'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='actor_name',
            field=models.CharField(help_text='Kept even if the user is renamed.', max_length=150, verbose_name='actor name'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='adjustment',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='audit_entries', to='rewards.adjustment', verbose_name='adjustment'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='comment',
            field=models.TextField(blank=True, verbose_name='comment'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='created_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='created at'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='data',
            field=models.JSONField(blank=True, default=dict, help_text='Details; secrets removed.', verbose_name='data'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='entry_hash',
            field=models.CharField(db_default='', default='', editable=False, max_length=64, verbose_name='entry hash'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='from_state',
            field=models.CharField(blank=True, max_length=20, verbose_name='from state'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='ip_address',
            field=models.GenericIPAddressField(blank=True, null=True, verbose_name='ip address'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='member',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='audit_entries', to='accounts.member', verbose_name='member'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='prev_hash',
            field=models.CharField(db_default='', default='', editable=False, max_length=64, verbose_name='prev hash'),
        ),
        migrations.AlterField(
            model_name='auditentry',
            name='to_state',
            field=models.CharField(blank=True, max_length=20, verbose_name='to state'),
        ),
        migrations.AlterField(
            model_name='chainanchor',
            name='audit_entry_id',
            field=models.BigIntegerField(blank=True, null=True, verbose_name='audit entry id'),
        ),
        migrations.AlterField(
            model_name='chainanchor',
            name='audit_hash',
            field=models.CharField(max_length=64, verbose_name='audit hash'),
        ),
        migrations.AlterField(
            model_name='chainanchor',
            name='audit_length',
            field=models.BigIntegerField(verbose_name='audit length'),
        ),
        migrations.AlterField(
            model_name='chainanchor',
            name='created_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='created at'),
        ),
        migrations.AlterField(
            model_name='chainanchor',
            name='created_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='created by'),
        ),
        migrations.AlterField(
            model_name='chainanchor',
            name='digest',
            field=models.CharField(help_text="SHA-256 over the audit head and every account's ledger head.", max_length=64, verbose_name='digest'),
        ),
        migrations.AlterField(
            model_name='chainanchor',
            name='ledger_accounts',
            field=models.BigIntegerField(help_text='Reward accounts with ledger entries.', verbose_name='ledger accounts'),
        ),
        migrations.AlterField(
            model_name='chainanchor',
            name='ledger_heads_recorded',
            field=models.BigIntegerField(help_text='Account heads recorded with this anchor: those moved since the last one.', verbose_name='ledger heads recorded'),
        ),
        migrations.AlterField(
            model_name='chainanchor',
            name='note',
            field=models.CharField(blank=True, max_length=200, verbose_name='note'),
        ),
        migrations.AlterField(
            model_name='chainanchor',
            name='reason',
            field=models.CharField(choices=[('daily', 'Daily'), ('export', 'Finance export'), ('manual', 'On request')], max_length=16, verbose_name='reason'),
        ),
        migrations.AlterField(
            model_name='chainanchorhead',
            name='account_id',
            field=models.BigIntegerField(verbose_name='account id'),
        ),
        migrations.AlterField(
            model_name='chainanchorhead',
            name='anchor',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='heads', to='rewards.chainanchor', verbose_name='anchor'),
        ),
        migrations.AlterField(
            model_name='chainanchorhead',
            name='entry_hash',
            field=models.CharField(max_length=64, verbose_name='entry hash'),
        ),
        migrations.AlterField(
            model_name='chainanchorhead',
            name='entry_id',
            field=models.BigIntegerField(db_index=True, verbose_name='entry id'),
        ),
        migrations.AlterField(
            model_name='chainhead',
            name='entry_hash',
            field=models.CharField(max_length=64, verbose_name='entry hash'),
        ),
        migrations.AlterField(
            model_name='chainhead',
            name='entry_id',
            field=models.BigIntegerField(blank=True, null=True, verbose_name='entry id'),
        ),
        migrations.AlterField(
            model_name='chainhead',
            name='length',
            field=models.BigIntegerField(default=0, verbose_name='length'),
        ),
        migrations.AlterField(
            model_name='chainhead',
            name='name',
            field=models.CharField(max_length=32, unique=True, verbose_name='name'),
        ),
        migrations.AlterField(
            model_name='chainhead',
            name='updated_at',
            field=models.DateTimeField(auto_now=True, verbose_name='updated at'),
        ),
        migrations.AlterField(
            model_name='chainverification',
            name='anchors_checked',
            field=models.BigIntegerField(default=0, verbose_name='anchors checked'),
        ),
        migrations.AlterField(
            model_name='chainverification',
            name='audit_entries',
            field=models.BigIntegerField(default=0, verbose_name='audit entries'),
        ),
        migrations.AlterField(
            model_name='chainverification',
            name='finished_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='finished at'),
        ),
        migrations.AlterField(
            model_name='chainverification',
            name='ledger_accounts',
            field=models.BigIntegerField(default=0, verbose_name='ledger accounts'),
        ),
        migrations.AlterField(
            model_name='chainverification',
            name='ledger_entries',
            field=models.BigIntegerField(default=0, verbose_name='ledger entries'),
        ),
        migrations.AlterField(
            model_name='chainverification',
            name='problems',
            field=models.JSONField(blank=True, default=list, help_text='The first broken link of each chain: entry, expected and found hash.', verbose_name='problems'),
        ),
        migrations.AlterField(
            model_name='chainverification',
            name='seconds',
            field=models.FloatField(blank=True, null=True, verbose_name='seconds'),
        ),
        migrations.AlterField(
            model_name='chainverification',
            name='sound',
            field=models.BooleanField(help_text='Empty while the check runs.', null=True, verbose_name='sound'),
        ),
        migrations.AlterField(
            model_name='chainverification',
            name='started_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='started at'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='account',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='accounts.rewardaccount', verbose_name='account'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='adjustment',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='rewards.adjustment', verbose_name='adjustment'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='amount',
            field=models.DecimalField(decimal_places=2, max_digits=18, verbose_name='amount'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='bucket',
            field=models.CharField(choices=[('pending', 'Pending'), ('available', 'Available')], max_length=16, verbose_name='bucket'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='created_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='created at'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='description',
            field=models.CharField(max_length=200, verbose_name='description'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='entry_hash',
            field=models.CharField(db_default='', default='', editable=False, max_length=64, verbose_name='entry hash'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='prev_hash',
            field=models.CharField(db_default='', default='', editable=False, max_length=64, verbose_name='prev hash'),
        ),
        migrations.AlterField(
            model_name='ledgerentry',
            name='reward_event',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='entries', to='rewards.rewardevent', verbose_name='reward event'),
        ),
        migrations.AlterField(
            model_name='reconciliationresult',
            name='account',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reconciliations', to='accounts.rewardaccount', verbose_name='account'),
        ),
        migrations.AlterField(
            model_name='reconciliationresult',
            name='account_type',
            field=models.CharField(blank=True, max_length=32, verbose_name='account type'),
        ),
        migrations.AlterField(
            model_name='reconciliationresult',
            name='checked_at',
            field=models.DateTimeField(default=django.utils.timezone.now, verbose_name='checked at'),
        ),
        migrations.AlterField(
            model_name='reconciliationresult',
            name='difference',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=18, null=True, verbose_name='difference'),
        ),
        migrations.AlterField(
            model_name='reconciliationresult',
            name='drifting',
            field=models.BooleanField(db_index=True, default=False, verbose_name='drifting'),
        ),
        migrations.AlterField(
            model_name='reconciliationresult',
            name='error',
            field=models.TextField(blank=True, verbose_name='error'),
        ),
        migrations.AlterField(
            model_name='reconciliationresult',
            name='ledger_available',
            field=models.DecimalField(decimal_places=2, max_digits=18, verbose_name='ledger available'),
        ),
        migrations.AlterField(
            model_name='reconciliationresult',
            name='member',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reconciliations', to='accounts.member', verbose_name='member'),
        ),
        migrations.AlterField(
            model_name='reconciliationresult',
            name='note',
            field=models.TextField(blank=True, help_text='E.g. an adjustment of unknown outcome here.', verbose_name='note'),
        ),
        migrations.AlterField(
            model_name='reconciliationresult',
            name='pomelo_available',
            field=models.DecimalField(blank=True, decimal_places=2, max_digits=18, null=True, verbose_name='pomelo available'),
        ),
        migrations.AlterField(
            model_name='reconciliationresult',
            name='run',
            field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='results', to='rewards.reconciliationrun', verbose_name='run'),
        ),
        migrations.AlterField(
            model_name='reconciliationrun',
            name='accounts_drifting',
            field=models.PositiveIntegerField(default=0, verbose_name='accounts drifting'),
        ),
        migrations.AlterField(
            model_name='reconciliationrun',
            name='adjustments_unsettled',
            field=models.PositiveIntegerField(default=0, help_text='Adjustments sent to Pomelo whose outcome we have not recorded.', verbose_name='adjustments unsettled'),
        ),
        migrations.AlterField(
            model_name='reconciliationrun',
            name='errors',
            field=models.PositiveIntegerField(default=0, verbose_name='errors'),
        ),
        migrations.AlterField(
            model_name='reconciliationrun',
            name='finished_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='finished at'),
        ),
        migrations.AlterField(
            model_name='reconciliationrun',
            name='members_checked',
            field=models.PositiveIntegerField(default=0, help_text='Saved after each batch of members, so a running run shows progress.', verbose_name='members checked'),
        ),
        migrations.AlterField(
            model_name='reconciliationrun',
            name='members_total',
            field=models.PositiveIntegerField(blank=True, help_text='Members to check, counted when the run started.', null=True, verbose_name='members to check'),
        ),
        migrations.AlterField(
            model_name='reconciliationrun',
            name='started_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='started at'),
        ),
        migrations.AlterField(
            model_name='reconciliationrun',
            name='started_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='started by'),
        ),
        migrations.AlterField(
            model_name='reconciliationrun',
            name='status',
            field=models.CharField(choices=[('queued', 'Queued'), ('running', 'Running'), ('finished', 'Finished'), ('failed', 'Failed'), ('skipped', 'Skipped (another run was under way)')], default='running', max_length=16, verbose_name='status'),
        ),
        migrations.AlterField(
            model_name='reconciliationrun',
            name='unsettled_adjustments',
            field=models.JSONField(blank=True, default=list, help_text='Those adjustments as they stood during the run: their Pomelo outcome may be part of the drift.', verbose_name='unsettled adjustments'),
        ),
        migrations.AlterField(
            model_name='rewardevent',
            name='account',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='events', to='accounts.rewardaccount', verbose_name='account'),
        ),
        migrations.AlterField(
            model_name='rewardevent',
            name='account_type',
            field=models.CharField(max_length=32, verbose_name='account type'),
        ),
        migrations.AlterField(
            model_name='rewardevent',
            name='amount',
            field=models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=18, verbose_name='amount'),
        ),
        migrations.AlterField(
            model_name='rewardevent',
            name='cancelled_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='cancelled at'),
        ),
        migrations.AlterField(
            model_name='rewardevent',
            name='card',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='reward_events', to='accounts.card', verbose_name='card'),
        ),
        migrations.AlterField(
            model_name='rewardevent',
            name='confirmed_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='confirmed at'),
        ),
        migrations.AlterField(
            model_name='rewardevent',
            name='created_at',
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now, verbose_name='created at'),
        ),
        migrations.AlterField(
            model_name='rewardevent',
            name='needs_review',
            field=models.BooleanField(db_index=True, default=False, verbose_name='needs review'),
        ),
        migrations.AlterField(
            model_name='rewardevent',
            name='pending_at',
            field=models.DateTimeField(blank=True, null=True, verbose_name='pending at'),
        ),
        migrations.AlterField(
            model_name='rewardevent',
            name='review_reason',
            field=models.CharField(blank=True, max_length=300, verbose_name='review reason'),
        ),
        migrations.AlterField(
            model_name='rewardevent',
            name='state',
            field=models.CharField(choices=[('pending', 'Pending'), ('confirmed', 'Confirmed'), ('cancelled', 'Cancelled')], max_length=16, verbose_name='state'),
        ),
        migrations.AlterField(
            model_name='rewardevent',
            name='updated_at',
            field=models.DateTimeField(auto_now=True, verbose_name='updated at'),
        ),
    ]
