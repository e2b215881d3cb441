"""Model and field names marked for translation: the same English words, no change to the schema."""

import django.core.validators
import django.db.models.deletion
from decimal import Decimal
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0003_pomelo_id_upper_indexes'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name='balancesnapshot',
            options={'ordering': ['-created_at', '-id'], 'permissions': [('check_balance', "Can check a member's balance at Pomelo")], 'verbose_name': 'balance snapshot', 'verbose_name_plural': 'balance snapshots'},
        ),
        migrations.AlterModelOptions(
            name='card',
            options={'ordering': ['pomelo_card_id'], 'verbose_name': 'card', 'verbose_name_plural': 'cards'},
        ),
        migrations.AlterModelOptions(
            name='member',
            options={'ordering': ['-created_at', '-id'], 'verbose_name': 'member', 'verbose_name_plural': 'members'},
        ),
        migrations.AlterModelOptions(
            name='rewardaccount',
            options={'ordering': ['member_id', 'account_type'], 'verbose_name': 'reward account', 'verbose_name_plural': 'reward accounts'},
        ),
        migrations.AlterField(
            model_name='balancesnapshot',
            name='balances',
            field=models.JSONField(default=dict, help_text="Pomelo's balance per account type, as decimal strings.", verbose_name='balances'),
        ),
        migrations.AlterField(
            model_name='balancesnapshot',
            name='card',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='balance_snapshots', to='accounts.card', verbose_name='card'),
        ),
        migrations.AlterField(
            model_name='balancesnapshot',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='created at'),
        ),
        migrations.AlterField(
            model_name='balancesnapshot',
            name='error',
            field=models.TextField(blank=True, verbose_name='error'),
        ),
        migrations.AlterField(
            model_name='balancesnapshot',
            name='ledger_balances',
            field=models.JSONField(default=dict, help_text='Our available balance per account type at the same moment.', verbose_name='ledger balances'),
        ),
        migrations.AlterField(
            model_name='balancesnapshot',
            name='member',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='balance_snapshots', to='accounts.member', verbose_name='member'),
        ),
        migrations.AlterField(
            model_name='balancesnapshot',
            name='raw_response',
            field=models.TextField(blank=True, verbose_name='raw response'),
        ),
        migrations.AlterField(
            model_name='balancesnapshot',
            name='requested_by',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='requested by'),
        ),
        migrations.AlterField(
            model_name='balancesnapshot',
            name='status_code',
            field=models.PositiveSmallIntegerField(blank=True, null=True, verbose_name='status code'),
        ),
        migrations.AlterField(
            model_name='card',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True, verbose_name='created at'),
        ),
        migrations.AlterField(
            model_name='card',
            name='last_four',
            field=models.CharField(blank=True, db_index=True, max_length=4, validators=[django.core.validators.RegexValidator('^\\d{4}$', 'Last four must be exactly four digits.')], verbose_name='last four'),
        ),
        migrations.AlterField(
            model_name='card',
            name='member',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='cards', to='accounts.member', verbose_name='member'),
        ),
        migrations.AlterField(
            model_name='card',
            name='status',
            field=models.CharField(choices=[('active', 'Active'), ('blocked', 'Blocked'), ('disabled', 'Disabled')], default='active', max_length=16, verbose_name='status'),
        ),
        migrations.AlterField(
            model_name='card',
            name='updated_at',
            field=models.DateTimeField(auto_now=True, verbose_name='updated at'),
        ),
        migrations.AlterField(
            model_name='member',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True, db_index=True, verbose_name='created at'),
        ),
        migrations.AlterField(
            model_name='member',
            name='email',
            field=models.EmailField(blank=True, db_index=True, max_length=254, verbose_name='email'),
        ),
        migrations.AlterField(
            model_name='member',
            name='name',
            field=models.CharField(blank=True, max_length=200, verbose_name='name'),
        ),
        migrations.AlterField(
            model_name='member',
            name='status',
            field=models.CharField(choices=[('active', 'Active'), ('blocked', 'Blocked'), ('closed', 'Closed')], default='active', max_length=16, verbose_name='status'),
        ),
        migrations.AlterField(
            model_name='member',
            name='updated_at',
            field=models.DateTimeField(auto_now=True, verbose_name='updated at'),
        ),
        migrations.AlterField(
            model_name='rewardaccount',
            name='account_type',
            field=models.CharField(max_length=32, verbose_name='account type'),
        ),
        migrations.AlterField(
            model_name='rewardaccount',
            name='available_balance',
            field=models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=18, verbose_name='available balance'),
        ),
        migrations.AlterField(
            model_name='rewardaccount',
            name='created_at',
            field=models.DateTimeField(auto_now_add=True, verbose_name='created at'),
        ),
        migrations.AlterField(
            model_name='rewardaccount',
            name='member',
            field=models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='reward_accounts', to='accounts.member', verbose_name='member'),
        ),
        migrations.AlterField(
            model_name='rewardaccount',
            name='pending_balance',
            field=models.DecimalField(decimal_places=2, default=Decimal('0'), max_digits=18, verbose_name='pending balance'),
        ),
        migrations.AlterField(
            model_name='rewardaccount',
            name='updated_at',
            field=models.DateTimeField(auto_now=True, verbose_name='updated at'),
        ),
    ]
