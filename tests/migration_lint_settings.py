"""Settings for `manage.py lintmigrations` (django-migration-linter), run by `make test`.

A migration that would block a live system (a table lock, a column dropped or renamed before the
code stops using it, NOT NULL without a default) fails the build; see the README's
expand/contract policy. The migrations listed here were applied everywhere before the policy
existed: history is kept as it ran, never rewritten.
"""

from tests.settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "django_migration_linter"]  # noqa: F405

MIGRATION_LINTER_OPTIONS = {
    # Only our own apps: third-party migrations are their authors' concern.
    "include_apps": ["accounts", "rewards", "webhooks", "staff", "ops", "sandbox"],
    "ignore_name": [
        "0001_initial",  # new, empty tables: nothing to block
        "0009_adjustment_outcome_unknown_and_reconciliation_per_type",
        "0001_user_email_unique",
        "0002_raw_body_review_and_kept_signed_refusals",
    ],
    "warnings_as_errors": True,
}
