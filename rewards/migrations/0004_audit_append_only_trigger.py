from django.db import migrations

from rewards.append_only import append_only_trigger_sql

TABLE = "rewards_auditentry"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(append_only_trigger_sql(TABLE)[0], params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(append_only_trigger_sql(TABLE)[1], params=None)


class Migration(migrations.Migration):
    dependencies = [("rewards", "0003_adjustments_audit_reconciliation")]
    operations = [migrations.RunPython(forward, backward)]
