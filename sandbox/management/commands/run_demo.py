"""`make run`: the back office and a stand-in Pomelo in one process, with demo data."""

import base64
import secrets
import threading
import time

import requests
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connections

from accounts.models import Member
from accounts.services import member_profile_update
from sandbox.pomelo_server import serve
from sandbox.traffic import traffic_members, traffic_plan, traffic_play

DEMO_USERS = [
    ("admin", None),  # an operator: superuser
    ("agent", "Support agent"),
    ("approver", "Approver"),
    ("approver2", "Approver"),
    ("auditor", "Finance auditor"),
    ("administrator", "Administrator"),
]
SEED = 1


class Command(BaseCommand):
    help = "Serve the back office with a stand-in Pomelo and demo data (never in production)."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--pomelo-port", type=int, default=8765)
        parser.add_argument("--members", type=int, default=40)
        parser.add_argument("--transactions", type=int, default=300)

    def handle(self, *args, **o):
        call_command("migrate", interactive=False, verbosity=0)
        fresh = not Member.objects.exists()
        state_file = settings.BASE_DIR / "var" / "sandbox-pomelo.json"
        state_file.parent.mkdir(exist_ok=True)
        if fresh:
            state_file.unlink(missing_ok=True)  # a new database starts a new stand-in too

        api_key, secret = self._configure(o["pomelo_port"])
        pomelo = serve("127.0.0.1", o["pomelo_port"], client_id=settings.POMELO_CLIENT_ID,
                       client_secret=settings.POMELO_CLIENT_SECRET,
                       account_types=settings.POMELO_ACCOUNT_TYPES, state_path=state_file)
        pomelo.start()
        password = self._demo_users()
        backoffice_url = f"http://{o['host']}:{o['port']}"
        self.stdout.write(self.style.SUCCESS(
            f"\nStand-in Pomelo: {pomelo.url}\nBack office:     {backoffice_url}/admin/\n"
            f"Demo logins (password for all: {password}):\n"
            + "".join(f"  {name:<14} {role or 'superuser (operators only)'}\n"
                      for name, role in DEMO_USERS)
        ))
        if fresh:
            threading.Thread(
                target=self._load_demo_data, daemon=True,
                args=(backoffice_url, pomelo.url, api_key, secret, o["members"], o["transactions"]),
            ).start()
        call_command("runserver", f"{o['host']}:{o['port']}", use_reloader=False,
                     insecure_serving=True)

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

    def _demo_users(self) -> str:
        password = secrets.token_urlsafe(9)
        for username, role in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            user.is_staff = True
            user.is_superuser = role is None
            user.set_password(password)
            user.save()
            if role:
                user.groups.set([Group.objects.get(name=role)])
        return password

    def _load_demo_data(self, backoffice_url, pomelo_url, api_key, secret, members, transactions):
        try:
            for _ in range(100):
                try:
                    requests.get(f"{backoffice_url}/admin/login/", timeout=1)
                    break
                except requests.ConnectionError:
                    time.sleep(0.2)
            simulated = traffic_members(count=members, seed=SEED)
            plan = traffic_plan(members=simulated, transactions=transactions, seed=SEED,
                                duplicates=0.1, shuffle=True)
            report = traffic_play(plan=plan, backoffice_url=backoffice_url, pomelo_url=pomelo_url,
                                  api_key=api_key, secret_b64=secret, concurrency=2)
            for person in simulated:
                member = Member.objects.filter(pomelo_user_id=person.user_id).first()
                if member is not None:
                    member_profile_update(member=member, name=person.name, email=person.email)
            self.stdout.write(self.style.SUCCESS(
                f"Demo data loaded: {report.sent} notifications through the webhooks "
                f"({dict(report.outcomes)})."
            ))
        finally:
            connections.close_all()
