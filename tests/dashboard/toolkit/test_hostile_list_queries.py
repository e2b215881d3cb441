"""Every admin list, given hostile query strings, answers with a message the user can read
(or Django's invalid-lookup redirect to ?e=1 with that message), never a server error.

The table is built from the admin site itself: every registered list, every parameter its
filters expect, its date hierarchy, its search and pagination, each with values that are
not what the parameter takes."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.contrib.admin.views.main import ERROR_FLAG
from django.contrib.messages import constants as message_levels
from django.test import RequestFactory

from accounts.models import BalanceSnapshot, RewardAccount
from rewards.models import ReconciliationResult, ReconciliationRun
from rewards.services.adjustments import adjustment_approve
from tests.support.adjustments import make_request
from tests.support.pages import as_user

pytestmark = pytest.mark.django_db

NUL = "\x00"
# Values that are wrong for almost any parameter: a NUL (PostgreSQL refuses it in text), digits
# Python's isdigit() accepts but int() refuses, numbers past any integer column, dates past
# year 9999 or that do not exist, and plain garbage.
HOSTILE_VALUES = [
    NUL, f"2024-01-01{NUL}", "abc", "²", "٣", "1e400", "99999999999999999999999", "-1", "0",
    "10000-01-01", "9999-12-31", "0000-00-00", "2024-02-30", "2024-13-01", "' OR 1=1 --", "%",
    "x" * 2000, " ",
]
# The values any parameter must visibly refuse.
ALWAYS_REFUSED = {NUL, f"2024-01-01{NUL}"}
GENERIC = [
    {"q": NUL}, {"q": "#²"}, {"q": "²"}, {"q": "#" + "9" * 30}, {"q": "x" * 5000},
    {"q": "a\u202eb"}, {"p": "abc"}, {"p": "999999999999"}, {"p": "-1"}, {"o": "zz"},
    {"o": "999"}, {"o": "1.-2.x"}, {"all": ""}, {"_facets": "1"}, {"_facets": "1", "q": "x"},
    {"id__exact": "abc"}, {"pk": "abc"}, {"id__gt": "9" * 30}, {ERROR_FLAG: "1", "q": NUL},
    {"nonexistent_field": "1"}, {"_to_field": "password"},
]


def _registered():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


def _changelist_url(model) -> str:
    return f"/admin/{model._meta.app_label}/{model._meta.model_name}/"


def _filter_parameters(model_admin, superuser) -> list[str]:
    request = RequestFactory().get(_changelist_url(model_admin.model))
    request.user = superuser
    changelist = model_admin.get_changelist_instance(request)
    names = []
    for spec in changelist.filter_specs:
        names.extend(spec.expected_parameters() or [])
    return sorted({name for name in names if name})


def _date_hierarchy_cases(field: str) -> list[dict]:
    y, m, d = f"{field}__year", f"{field}__month", f"{field}__day"
    return [
        {y: "9999"}, {y: "9999", m: "12"}, {y: "9999", m: "12", d: "31"}, {y: "10000"},
        {y: "0"}, {y: "abc"}, {y: "2024", m: "13"}, {y: "2024", m: "2", d: "30"},
        {y: "²"}, {y: NUL}, {y: "2024", m: NUL},
    ]


def _messages(response) -> list[tuple[int, str]]:
    if not response.context or "messages" not in response.context:
        return []
    return [(m.level, str(m)) for m in response.context["messages"]]


def _outcome(client, url: str, params: dict) -> str:
    """'ok', 'refused' (the list says why) or a description of what went wrong."""
    response = client.get(url, params)
    if response.status_code >= 500:
        return f"HTTP {response.status_code}"
    if response.status_code == 400:
        return "refused"  # Django's answer to a lookup or field the list does not allow
    if response.status_code == 302:
        if response.url != f"{url}?{ERROR_FLAG}=1":
            return f"redirected to {response.url}"
        response = client.get(response.url)
        if response.status_code != 200:
            return f"?{ERROR_FLAG}=1 answered {response.status_code}"
        if not any(level >= message_levels.WARNING for level, _ in _messages(response)):
            return f"?{ERROR_FLAG}=1 without a message saying what was wrong"
        return "refused"
    if response.status_code != 200:
        return f"HTTP {response.status_code}"
    if any(level >= message_levels.WARNING for level, _ in _messages(response)):
        return "refused"
    if response.templates and response.templates[0].name == "admin/invalid_setup.html":
        return "Django's 'database error' page"
    return "ok"


@pytest.fixture
def some_data(people, member):
    """Something in each list, so that every filter is shown (Django leaves out a filter with
    no choices, and its parameter with it): a member with a card, reward event and ledger
    entries, an approved adjustment, a balance snapshot and a reconciliation."""
    adjustment = make_request(people["agent"], member)
    adjustment_approve(adjustment_id=adjustment.pk, approver=people["approver"], comment="ok")
    BalanceSnapshot.objects.create(member=member, balances={"points": "90"},
                                   ledger_balances={"points": "100.00"}, status_code=200,
                                   requested_by=people["agent"])
    run = ReconciliationRun.objects.create(status="finished", members_checked=1)
    ReconciliationResult.objects.create(
        run=run, member=member, account_type="points",
        account=RewardAccount.objects.get(member=member, account_type="points"),
        ledger_available=Decimal("100.00"), pomelo_available=Decimal("90.00"),
        difference=Decimal("10.00"), drifting=True)
    return member


@pytest.mark.parametrize(
    ("model", "model_admin"), _registered(), ids=[m._meta.label for m, _ in _registered()]
)
def test_hostile_query_strings_never_break_a_list(client, admin_user, some_data, model, model_admin):
    as_user(client, admin_user)
    client.raise_request_exception = False  # a server error is a finding here, reported below
    url = _changelist_url(model)
    cases: list[tuple[dict, bool]] = [(params, NUL in "".join(params.values())) for params in GENERIC]
    for name in _filter_parameters(model_admin, admin_user):
        cases += [({name: value}, value in ALWAYS_REFUSED) for value in HOSTILE_VALUES]
    if model_admin.date_hierarchy:
        cases += [(params, True) for params in _date_hierarchy_cases(model_admin.date_hierarchy)]

    problems = []
    for params, must_refuse in cases:
        outcome = _outcome(client, url, params)
        if outcome not in ("ok", "refused") or (must_refuse and outcome != "refused"):
            shown = {key: value if len(value) < 40 else f"{value[:12]}…({len(value)} chars)"
                     for key, value in params.items()}
            problems.append(f"{shown!r}: {outcome}")
    assert not problems, f"{url}:\n" + "\n".join(problems)


def test_every_list_is_covered():
    """The table above reaches our own lists (a registry that failed to load would pass)."""
    labels = {model._meta.label for model, _ in _registered()}
    assert {"rewards.Adjustment", "rewards.AuditEntry", "accounts.Member", "webhooks.Delivery",
            "rewards.LedgerEntry", "rewards.ReconciliationResult", "auth.User",
            "axes.AccessAttempt", "axes.AccessLog"} <= labels


@pytest.mark.parametrize(("params", "message"), [
    ({"created_at_from": "10000-01-01"}, "is not a date"),
    ({"created_at_to": "2024-02-30"}, "is not a date"),
    ({"approver": "²"}, "is not a user id"),
    ({"approver": "9" * 30}, "is not a user id"),
])
def test_refusals_say_what_was_wrong(client, admin_user, some_data, params, message):
    as_user(client, admin_user)
    response = client.get("/admin/rewards/adjustment/", params, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain and response.redirect_chain[-1][0].endswith(f"?{ERROR_FLAG}=1")
    assert any(message in text for _, text in _messages(response)), _messages(response)
