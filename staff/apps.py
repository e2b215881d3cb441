from django.apps import AppConfig, apps
from django.db.models.signals import post_migrate
from django.utils.translation import gettext_lazy as _


class StaffConfig(AppConfig):
    name = "staff"
    verbose_name = _("Staff accounts and sign-in")

    def ready(self):
        from axes.signals import user_locked_out

        from staff.login_throttle import lockout_audit
        from staff.roles_sync import roles_sync_after_migrate

        user_locked_out.connect(lockout_audit, dispatch_uid="staff.lockout_audit")
        # Django sends post_migrate once per app that has models: listen for auth's, whose
        # permissions the roles are made of, so the sync runs once per migrate (the handler
        # creates every app's permissions first, so the order of the apps does not matter).
        post_migrate.connect(roles_sync_after_migrate, sender=apps.get_app_config("auth"),
                             dispatch_uid="staff.roles_sync")
