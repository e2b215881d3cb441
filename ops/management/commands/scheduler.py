"""`manage.py scheduler`: the one process that queues the periodic jobs (SCHEDULER_INTERVALS).

It only queues; the worker runs. Two schedulers at once (a deploy's overlap, two hosts) queue
each slot once between them, so running one per deployment is enough and more is harmless.
"""

import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import InterfaceError, OperationalError, close_old_connections

from ops.scheduling import scheduler_tick

logger = logging.getLogger("ops.scheduler")


class Command(BaseCommand):
    help = "Queue the periodic jobs on the timetable in settings (SCHEDULER_INTERVALS)."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Queue what is due now, then exit.")

    def handle(self, *args, once: bool, **options):
        self.running = True

        def stop(signum, frame):
            self.running = False

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while self.running:
            close_old_connections()
            try:
                queued = scheduler_tick()
            except (OperationalError, InterfaceError) as exc:
                # The database went away: try again next tick rather than exit.
                logger.warning("scheduler tick failed: %s: %s", type(exc).__name__, exc)
                queued = []
            if once:
                self.stdout.write(f"queued {len(queued)} job(s)")
                return
            deadline = time.monotonic() + settings.SCHEDULER_TICK_SECONDS
            while self.running and time.monotonic() < deadline:
                time.sleep(0.5)
