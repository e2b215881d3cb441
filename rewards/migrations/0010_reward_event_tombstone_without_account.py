# A cancellation that arrives without a user id before the rest of its reward is kept as a
# tombstone with no account yet; the reward's first pending or confirmation fills it in.

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("accounts", "0003_pomelo_id_upper_indexes"),
        ("rewards", "0009_adjustment_outcome_unknown_and_reconciliation_per_type"),
    ]

    operations = [
        migrations.AlterField(
            model_name="rewardevent",
            name="account",
            field=models.ForeignKey(
                blank=True, null=True, on_delete=django.db.models.deletion.PROTECT,
                related_name="events", to="accounts.rewardaccount",
            ),
        ),
    ]
