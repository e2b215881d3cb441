"""Saved filters of the finance lists, one set per staff member."""

import django.db.models.deletion
import django.db.models.functions.text
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('staff', '0001_user_email_unique'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='SavedFilter',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('view', models.CharField(choices=[('adjustments', 'Adjustments'), ('audit_trail', 'Audit trail'), ('ledger', 'Ledger entries'), ('reward_events', 'Reward events')], max_length=32)),
                ('name', models.CharField(max_length=80)),
                ('query', models.CharField(blank=True, max_length=2000)),
                ('created_at', models.DateTimeField(default=django.utils.timezone.now)),
                ('user', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='saved_filters', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'ordering': ['name', 'id'],
                'constraints': [models.UniqueConstraint(models.F('user'), models.F('view'), django.db.models.functions.text.Lower('name'), name='saved_filter_name_unique_per_user_and_view')],
            },
        ),
    ]
