from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BulkAdjustmentsConfig(AppConfig):
    name = "bulk_adjustments"
    verbose_name = _("Bulk adjustments")
