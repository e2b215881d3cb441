"""The demo that `make run` serves: demo staff, simulated card traffic, and work for every
role (see demo_scenarios). Never in production."""

import secrets
import time
from dataclasses import dataclass

import requests
from django.contrib.auth.models import Group, User
from django.db import transaction

from accounts.models import Member
from accounts.services import member_profile_update
from sandbox.demo_scenarios import ScenarioReport, demo_scenarios_load
from sandbox.traffic import TrafficReport, traffic_members, traffic_plan, traffic_play

DEMO_USERS = [
    ("admin", None),  # an operator: superuser
    ("agent", "Support agent"),
    ("approver", "Approver"),
    ("approver2", "Approver"),
    ("auditor", "Finance auditor"),
    ("administrator", "Administrator"),
]
SEED = 1


@dataclass
class DemoReport:
    traffic: TrafficReport  # empty when the members were already there
    scenarios: ScenarioReport


@transaction.atomic
def demo_users_reset() -> str:
    """Create (or reset) one staff user per role with a new shared password; return it."""
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


def demo_staff() -> dict[str, User]:
    """The demo users by name, created (with a password nobody is told) if missing."""
    names = [name for name, _ in DEMO_USERS]
    if User.objects.filter(username__in=names).count() < len(names):
        demo_users_reset()
    return {user.username: user for user in User.objects.filter(username__in=names)}


def backoffice_wait(backoffice_url: str, *, attempts: int = 100) -> None:
    """Return once the back office answers (or after `attempts` tries 0.2 s apart)."""
    for _ in range(attempts):
        try:
            requests.get(f"{backoffice_url}/admin/login/", timeout=1)
            return
        except requests.ConnectionError:
            time.sleep(0.2)


def demo_data_load(
    *, backoffice_url: str, pomelo_url: str, api_key: str, secret_b64: str,
    members: int, transactions: int,
) -> DemoReport:
    """Wait for the back office to answer; on an empty database play simulated traffic through
    its webhooks and give the members the names the simulation made up (Pomelo's notifications
    carry none); then add what each role has to act on. What is already there is kept, so a
    second load adds nothing."""
    backoffice_wait(backoffice_url)
    traffic = TrafficReport()
    if not Member.objects.exists():
        simulated = traffic_members(count=members, seed=SEED)
        plan = traffic_plan(members=simulated, transactions=transactions, seed=SEED,
                            duplicates=0.1, shuffle=True)
        traffic = traffic_play(plan=plan, backoffice_url=backoffice_url, pomelo_url=pomelo_url,
                               api_key=api_key, secret_b64=secret_b64, concurrency=2)
        for person in simulated:
            member = Member.objects.filter(pomelo_user_id=person.user_id).first()
            if member is not None:
                member_profile_update(member=member, name=person.name, email=person.email)
    scenarios = demo_scenarios_load(
        staff=demo_staff(), backoffice_url=backoffice_url, pomelo_url=pomelo_url,
        api_key=api_key, secret_b64=secret_b64,
    )
    return DemoReport(traffic=traffic, scenarios=scenarios)
