"""Indexes for the operations home's 30-day charts: rewards that became pending, confirmed or
cancelled, per day and account type, read by index-only range scans."""

from django.db import migrations, models

from kernel.migration_operations import AddIndexOnline


class Migration(migrations.Migration):
    # Built CONCURRENTLY on PostgreSQL: the inbox workers write reward events while a deploy
    # migrates, and CREATE INDEX CONCURRENTLY cannot run inside a transaction.
    atomic = False

    dependencies = [
        ('accounts', '0004_verbose_names_translatable'),
        ('rewards', '0018_verbose_names_translatable'),
    ]

    operations = [
        AddIndexOnline(
            model_name='rewardevent',
            index=models.Index(condition=models.Q(('pending_at__isnull', False)), fields=['pending_at', 'account_type'], name='reward_event_pending_at_day'),
        ),
        AddIndexOnline(
            model_name='rewardevent',
            index=models.Index(condition=models.Q(('confirmed_at__isnull', False)), fields=['confirmed_at', 'account_type'], name='reward_event_confirmed_at_day'),
        ),
        AddIndexOnline(
            model_name='rewardevent',
            index=models.Index(condition=models.Q(('cancelled_at__isnull', False)), fields=['cancelled_at', 'account_type'], name='reward_event_cancelled_at_day'),
        ),
    ]
