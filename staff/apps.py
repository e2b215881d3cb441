from django.apps import AppConfig
from django.db.models.signals import post_migrate


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = "Staff accounts and sign-in"

    def ready(self):
        from axes.signals import user_locked_out

        from staff.login_throttle import lockout_audit
        from staff.roles_sync import roles_sync_after_migrate

        user_locked_out.connect(lockout_audit, dispatch_uid="staff.lockout_audit")
        post_migrate.connect(roles_sync_after_migrate, sender=self, dispatch_uid="staff.roles_sync")
