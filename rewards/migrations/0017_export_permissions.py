"""The permissions to export the audit trail, the ledger and reward events as CSV (the roles
get them from kernel/roles.py after migrate)."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ('rewards', '0016_run_now_and_maker_notifications'),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='auditentry',
            options={'ordering': ['-created_at', '-id'], 'permissions': [('export_auditentry', 'Can export the audit trail as CSV')], 'verbose_name_plural': 'audit entries'},
        ),
        migrations.AlterModelOptions(
            name='ledgerentry',
            options={'ordering': ['-created_at', '-id'], 'permissions': [('export_ledgerentry', 'Can export ledger entries as CSV')], 'verbose_name_plural': 'ledger entries'},
        ),
        migrations.AlterModelOptions(
            name='rewardevent',
            options={'ordering': ['-created_at', '-id'], 'permissions': [('export_rewardevent', 'Can export reward events as CSV')]},
        ),
    ]
