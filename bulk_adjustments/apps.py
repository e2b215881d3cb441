from django.apps import AppConfig


class BulkAdjustmentsConfig(AppConfig):
    name = "bulk_adjustments"
    verbose_name = "Bulk adjustments"
