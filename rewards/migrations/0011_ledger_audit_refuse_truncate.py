from django.db import migrations

from rewards.append_only import refuse_truncate_trigger_operation


class Migration(migrations.Migration):
    dependencies = [("rewards", "0007_list_and_search_indexes")]
    operations = [
        refuse_truncate_trigger_operation("rewards_ledgerentry"),
        refuse_truncate_trigger_operation("rewards_auditentry"),
    ]
