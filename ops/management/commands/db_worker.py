"""`manage.py db_worker`: django-tasks-db's command, running the reconnecting worker (ops.worker).

The ops app comes before django_tasks_db in INSTALLED_APPS, so this command takes its name and
every existing way of starting the worker (Procfile, systemd) gets it.
"""

from django_tasks_db.management.commands import db_worker

from ops.worker import ReconnectingWorker


class Command(db_worker.Command):
    def handle(self, *args, **options):
        original = db_worker.Worker
        db_worker.Worker = ReconnectingWorker
        try:
            return super().handle(*args, **options)
        finally:
            db_worker.Worker = original
