"""The demo that `make run` serves: demo staff and simulated card traffic. Never in production."""

import secrets
import time

import requests
from django.contrib.auth.models import Group, User
from django.db import transaction

from accounts.models import Member
from accounts.services import member_profile_update
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


def demo_data_load(
    *, backoffice_url: str, pomelo_url: str, api_key: str, secret_b64: str,
    members: int, transactions: int,
) -> TrafficReport:
    """Wait for the back office to answer, play simulated traffic through its webhooks, and
    give the members the names the simulation made up (Pomelo's notifications carry none)."""
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
                          api_key=api_key, secret_b64=secret_b64, concurrency=2)
    for person in simulated:
        member = Member.objects.filter(pomelo_user_id=person.user_id).first()
        if member is not None:
            member_profile_update(member=member, name=person.name, email=person.email)
    return report
