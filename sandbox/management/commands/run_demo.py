"""`make run`: the back office and a stand-in Pomelo in one process, with demo data."""

import base64
import logging
import secrets
import threading

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connections
from django.utils.translation import gettext as _
from django_tasks import task_backends
from django_tasks_db.backend import DatabaseBackend

from accounts.models import Member
from rewards.services.adjustments import adjustment_resume_overdue
from sandbox.demo import DEMO_USERS, demo_data_load, demo_users_reset
from sandbox.guard import sandbox_require_enabled
from sandbox.server import serve

logger = logging.getLogger(__name__)


def _errors_only(record: logging.LogRecord) -> bool:
    return record.levelno >= logging.WARNING


# In-process tasks have no worker to run the watchdogs: sweep for overdue submissions instead.
SWEEP_SECONDS = 15


class Command(BaseCommand):
    help = "Serve the back office with a stand-in Pomelo and demo data (never in production)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--pomelo-port", type=int, default=8765)
        parser.add_argument("--members", type=int, default=40)
        parser.add_argument("--transactions", type=int, default=300)
        parser.add_argument("--request-log", action="store_true",
                            help="Print a line per request served (by default only errors).")

    def handle(self, *args, **o):
        sandbox_require_enabled(command="run_demo")
        call_command("migrate", interactive=False, verbosity=0)
        fresh = not Member.objects.exists()
        state_file = settings.BASE_DIR / "var" / "sandbox-pomelo.json"
        state_file.parent.mkdir(exist_ok=True)
        if fresh:
            state_file.unlink(missing_ok=True)  # a new database starts a new stand-in too

        api_key, secret = self._configure(o["pomelo_port"])
        try:
            pomelo = serve("127.0.0.1", o["pomelo_port"], client_id=settings.POMELO_CLIENT_ID,
                           client_secret=settings.POMELO_CLIENT_SECRET,
                           account_types=settings.POMELO_ACCOUNT_TYPES, state_path=state_file)
        except OSError as exc:
            raise CommandError(
                f"cannot start the stand-in Pomelo on port {o['pomelo_port']}: {exc}; "
                "is another `make run` still running? (--pomelo-port picks another port)"
            ) from exc
        pomelo.start()
        password = demo_users_reset()
        backoffice_url = f"http://{o['host']}:{o['port']}"
        queued_in_database = isinstance(task_backends["default"], DatabaseBackend)
        if not queued_in_database:
            threading.Thread(target=self._sweep_forever, daemon=True).start()
        threading.Thread(
            target=self._prepare_and_announce, daemon=True,
            kwargs={"backoffice_url": backoffice_url, "pomelo_url": pomelo.url,
                    "api_key": api_key, "secret_b64": secret, "members": o["members"],
                    "transactions": o["transactions"], "password": password,
                    "queued_in_database": queued_in_database},
        ).start()
        self.stdout.write(_("Preparing the demo; the logins follow once it is ready."))
        if not o["request_log"]:
            # Each page loads a dozen files: a line each would push the logins off the screen.
            # A filter, not a level: runserver sets up logging again, which resets levels.
            logging.getLogger("django.server").addFilter(_errors_only)
        call_command("runserver", f"{o['host']}:{o['port']}", use_reloader=False,
                     insecure_serving=True)

    def _prepare_and_announce(self, *, backoffice_url: str, pomelo_url: str, password: str,
                              queued_in_database: bool, **load) -> None:
        """Load what is missing of the demo data, then print the logins: the last lines before
        the server's own log, so they stay on the screen."""
        try:
            report = demo_data_load(backoffice_url=backoffice_url, pomelo_url=pomelo_url, **load)
            traffic, scenarios = report.traffic, report.scenarios
            if traffic.sent:
                self.stdout.write(self.style.SUCCESS(
                    _("Demo data loaded: %(sent)d notifications through the webhooks (%(outcomes)s).")
                    % {"sent": traffic.sent, "outcomes": dict(traffic.outcomes)}
                ))
            if scenarios.adjustments or scenarios.deliveries:
                self.stdout.write(self.style.SUCCESS(
                    _("Work for every role: %(adjustments)d adjustments, %(deliveries)d "
                      "notifications for review, %(drifting)s accounts drifting.")
                    % {"adjustments": len(scenarios.adjustments),
                       "deliveries": len(scenarios.deliveries),
                       "drifting": "-" if scenarios.drifting is None else scenarios.drifting}
                ))
        except Exception:
            logger.exception("the demo data could not be loaded")
        finally:
            connections.close_all()
        if queued_in_database:
            self.stdout.write(self.style.WARNING(_(
                "Tasks queue in the database (DEBUG is off or TASKS_BACKEND is set): run "
                "`manage.py db_worker` beside this, or approvals are never sent to Pomelo."
            )))
        self.stdout.write(self.style.SUCCESS(
            _("\nStand-in Pomelo: %(pomelo)s\nBack office:     %(backoffice)s/admin/\n"
              "Demo logins (password for all: %(password)s):\n")
            % {"pomelo": pomelo_url, "backoffice": backoffice_url, "password": password}
            + "".join(f"  {name:<14} {role or _('superuser (operators only)')}\n"
                      for name, role in DEMO_USERS)
        ))

    def _sweep_forever(self) -> None:
        stop = threading.Event()
        while not stop.wait(SWEEP_SECONDS):
            try:
                adjustment_resume_overdue()
            except Exception:
                logger.exception("the demo's sweep of overdue submissions failed")
            finally:
                connections.close_all()

    def _configure(self, pomelo_port: int) -> tuple[str, str]:
        """Point this process at the stand-in, with a webhook key pair both sides share."""
        settings.POMELO_BASE_URL = f"http://127.0.0.1:{pomelo_port}"
        settings.POMELO_TOKEN_URL = f"{settings.POMELO_BASE_URL}/oauth/token"
        settings.POMELO_CLIENT_ID = settings.POMELO_CLIENT_ID or "sandbox-client"
        settings.POMELO_CLIENT_SECRET = settings.POMELO_CLIENT_SECRET or "sandbox-secret"
        if not settings.POMELO_WEBHOOK_KEYS:
            settings.POMELO_WEBHOOK_KEYS = {"demo-key": secrets.token_bytes(32)}
        api_key, secret = next(iter(settings.POMELO_WEBHOOK_KEYS.items()))
        return api_key, base64.b64encode(secret).decode()
