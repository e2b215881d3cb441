from django.db import migrations

from rewards.append_only import refuse_truncate_trigger_operation


class Migration(migrations.Migration):
    dependencies = [("rewards", "0009_adjustment_outcome_unknown_and_reconciliation_per_type")]
    operations = [
        refuse_truncate_trigger_operation("rewards_ledgerentry"),
        refuse_truncate_trigger_operation("rewards_auditentry"),
    ]
