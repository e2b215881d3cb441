from django.db import migrations

from kernel.append_only import append_only_trigger_operation


class Migration(migrations.Migration):
    dependencies = [("rewards", "0001_initial")]
    operations = [append_only_trigger_operation("rewards_ledgerentry")]
