"""The database task worker, made to outlive a lost database connection.

django-tasks-db's worker raises out of its loop when a query fails (a database restart, a
failover, an idle connection cut by a proxy) and the process exits. Here the loop is resumed
after dropping the broken connections, with a growing pause, so the worker reconnects and goes
on; CONN_HEALTH_CHECKS (settings) makes Django test a reused connection before trusting it.
"""

from __future__ import annotations

import logging
import time

from django.db import InterfaceError, OperationalError, connections
from django_tasks_db.management.commands.db_worker import Worker

logger = logging.getLogger("ops.worker")
MAX_PAUSE_SECONDS = 30.0


class ReconnectingWorker(Worker):
    def run(self) -> None:
        pause = 0.5
        while self.running:
            try:
                super().run()
                return  # --batch or --max-tasks ended the loop on purpose
            except (OperationalError, InterfaceError) as exc:
                logger.warning("database connection lost (%s: %s); reconnecting in %.1f s",
                               type(exc).__name__, exc, pause)
                for connection in connections.all(initialized_only=True):
                    try:
                        connection.close()
                    except Exception:  # closing a dead connection may fail too; it is gone either way
                        logger.debug("closing %s failed", connection.alias, exc_info=True)
                time.sleep(pause)
                pause = min(pause * 2, MAX_PAUSE_SECONDS)
