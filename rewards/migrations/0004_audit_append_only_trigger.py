from django.db import migrations

from kernel.append_only import append_only_trigger_operation


class Migration(migrations.Migration):
    dependencies = [("rewards", "0003_adjustments_audit_reconciliation")]
    operations = [append_only_trigger_operation("rewards_auditentry")]
