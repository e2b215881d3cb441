"""One account per email address, regardless of case (the address the password reset link goes
to; Django's reset matches it case-insensitively). Empty addresses are not constrained."""

from django.db import migrations


def refuse_duplicates(apps, schema_editor):
    User = apps.get_model("auth", "User")
    seen, duplicates = {}, set()
    for pk, email in User.objects.exclude(email="").values_list("pk", "email").order_by("pk"):
        key = email.upper()
        if key in seen:
            duplicates.add(email)
        seen.setdefault(key, pk)
    if duplicates:
        raise RuntimeError(
            "Several accounts share an email address; give each its own (or clear the extra "
            f"ones) before migrating: {sorted(duplicates)}"
        )


class Migration(migrations.Migration):
    dependencies = [("auth", "0012_alter_user_first_name_max_length")]

    operations = [
        migrations.RunPython(refuse_duplicates, migrations.RunPython.noop),
        # Raw SQL: auth's User model is Django's, so the index cannot be declared on it. Both
        # SQLite and PostgreSQL support partial expression indexes.
        migrations.RunSQL(
            "CREATE UNIQUE INDEX staff_user_email_unique ON auth_user (UPPER(email)) WHERE email <> ''",
            "DROP INDEX staff_user_email_unique",
        ),
    ]
