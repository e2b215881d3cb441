from django.db import migrations

from kernel.append_only import refuse_truncate_trigger_operation


class Migration(migrations.Migration):
    dependencies = [("rewards", "0010_reward_event_tombstone_without_account")]
    operations = [
        refuse_truncate_trigger_operation("rewards_ledgerentry"),
        refuse_truncate_trigger_operation("rewards_auditentry"),
    ]
