"""The chains in the admin: finance sees anchors and the last verification; a failed check is
shown to every role that reads the audit trail; a finance export anchors the heads."""

import pytest
from django.core.management import call_command
from django_tasks_db.models import DBTaskResult

from rewards.models import ChainAnchor, ChainVerification
from rewards.services.chain import chain_anchor_take, chain_verification_run
from tests.support.chain_tampering import tamper
from tests.support.pages import as_user

pytestmark = pytest.mark.django_db

ANCHORS = "/admin/rewards/chainanchor/"
CHECKS = "/admin/rewards/chainverification/"
AUDIT = "/admin/rewards/auditentry/"


@pytest.fixture
def broken(member):
    """A verification that found the ledger changed."""
    entry = member.reward_accounts.get().entries.get()
    tamper("UPDATE rewards_ledgerentry SET description = 'edited' WHERE id = %s", [entry.pk])
    verification, report = chain_verification_run()
    assert not report.sound
    return verification


def test_finance_home_shows_last_verification_and_anchors(client, people, member):
    call_command("verify_audit")
    anchor = chain_anchor_take(reason=ChainAnchor.Reason.DAILY)
    as_user(client, people["auditor"])
    html = client.get("/admin/").content.decode()
    assert 'id="chain-status"' in html
    assert "<strong>sound</strong>" in html
    assert anchor.digest in html
    assert 'id="chain-alert"' not in html


def test_finance_reads_anchor_and_verification_pages_and_cannot_change_them(client, people,
                                                                             member):
    call_command("verify_audit")
    anchor = chain_anchor_take()
    verification = ChainVerification.objects.get()
    as_user(client, people["auditor"])
    listing = client.get(ANCHORS)
    assert listing.status_code == 200 and anchor.digest in listing.content.decode()
    assert client.get(f"{ANCHORS}{anchor.pk}/change/").status_code == 200
    assert client.get(CHECKS).status_code == 200
    assert client.get(f"{CHECKS}{verification.pk}/change/").status_code == 200
    assert client.get(f"{ANCHORS}add/").status_code == 403
    assert client.post(f"{CHECKS}{verification.pk}/delete/").status_code == 403


def test_support_agents_see_no_anchors(client, people):
    as_user(client, people["agent"])
    assert client.get(ANCHORS).status_code == 403
    assert 'id="chain-status"' not in client.get("/admin/").content.decode()


@pytest.mark.parametrize("role", ["approver", "auditor", "admin"])
def test_a_failed_verification_is_shown_to_every_role_that_reads_the_audit(client, people,
                                                                           broken, role):
    as_user(client, people[role])
    for page in ("/admin/", AUDIT):
        html = client.get(page).content.decode()
        assert 'id="chain-alert"' in html, page
        assert f"entry #{broken.problems[0]['entry']}" in html
    audit = client.get(AUDIT, {"action__exact": "chain_broken"})
    assert audit.context["cl"].result_count == 1


def test_a_failed_verification_page_lists_expected_and_found(client, people, broken):
    as_user(client, people["auditor"])
    html = client.get(f"{CHECKS}{broken.pk}/change/").content.decode()
    problem = broken.problems[0]
    assert problem["expected"] in html and problem["found"] in html


def test_support_agents_do_not_read_the_audit_so_see_no_alert(client, people, broken):
    as_user(client, people["agent"])
    assert 'id="chain-alert"' not in client.get("/admin/").content.decode()


def test_a_finance_export_anchors_the_chain_heads(client, people, member,
                                                 django_capture_on_commit_callbacks):
    as_user(client, people["auditor"])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.get("/admin/rewards/adjustment/export/")
    b"".join(response.streaming_content)
    anchor = ChainAnchor.objects.get()
    assert anchor.reason == ChainAnchor.Reason.EXPORT
    assert anchor.created_by == people["auditor"]
    assert anchor.ledger_accounts == 1


def test_with_the_database_queue_the_export_anchor_is_queued_with_the_export(
        client, people, member, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    as_user(client, people["auditor"])
    b"".join(client.get("/admin/rewards/adjustment/export/").streaming_content)
    assert not ChainAnchor.objects.exists()
    queued = DBTaskResult.objects.get(task_path="rewards.chain_tasks.chain_anchor_export_task")
    assert queued.args_kwargs["kwargs"]["actor_id"] == people["auditor"].pk
