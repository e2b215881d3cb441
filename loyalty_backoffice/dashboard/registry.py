"""Imports every dashboard module that registers model admins on the admin site.

Each module registers its admins when imported (`@admin.register`); this one is imported by
the project's admin AppConfig once every app is ready.
"""

from loyalty_backoffice.dashboard.accounts import admin as accounts_admin
from loyalty_backoffice.dashboard.rewards import adjustments, audit, ledger, reconciliation
from loyalty_backoffice.dashboard.staff import admin as staff_admin
from loyalty_backoffice.dashboard.webhooks import admin as webhooks_admin

__all__ = ["accounts_admin", "adjustments", "audit", "ledger", "reconciliation", "staff_admin",
           "webhooks_admin"]
