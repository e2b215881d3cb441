"""Makers are told when a request of theirs is approved, rejected, failed or expired: a
notification row written with the change, and an email after the commit that never undoes it."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.utils import timezone

from rewards.models import Adjustment, MakerNotification
from rewards.services.adjustments import adjustment_expire_overdue, adjustment_reject
from rewards.services.maker_notifications import maker_notification_text, maker_notifications_take
from tests.support.adjustments import approve, request

pytestmark = pytest.mark.django_db
Kind = MakerNotification.Kind


@pytest.fixture
def maker(people):
    User.objects.filter(pk=people["agent"].pk).update(email="agent@example.test")
    people["agent"].refresh_from_db()
    return people["agent"]


def _told(adjustment) -> list[tuple[str, str]]:
    return [(n.kind, maker_notification_text(n))
            for n in MakerNotification.objects.filter(adjustment=adjustment).order_by("id")]


def test_approval_is_told_and_emailed_to_the_maker(
    people, maker, member, sandbox_pomelo, django_capture_on_commit_callbacks
):
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "100"})
    adjustment = request(people, member)
    with django_capture_on_commit_callbacks(execute=True):
        approve(adjustment, people["approver"])
    assert Adjustment.objects.get(pk=adjustment.pk).state == Adjustment.State.SUCCEEDED
    text = (f"Your request #{adjustment.pk}, a credit of 25.00 points for usr-1, was approved "
            "and is being sent to Pomelo.")
    assert _told(adjustment) == [(Kind.APPROVED, text)]  # its success is not told again
    [email] = mail.outbox
    assert email.to == ["agent@example.test"] and email.body == text
    assert email.subject == f"Your request #{adjustment.pk}: approved"
    assert MakerNotification.objects.get().emailed_at is not None


def test_rejection_is_told_and_emailed(people, maker, member, django_capture_on_commit_callbacks):
    adjustment = request(people, member)
    with django_capture_on_commit_callbacks(execute=True):
        adjustment_reject(adjustment_id=adjustment.pk, approver=people["approver"], comment="no")
    assert _told(adjustment) == [(Kind.REJECTED, (
        f"Your request #{adjustment.pk}, a credit of 25.00 points for usr-1, was rejected; "
        "the approver's comment is on its page."))]
    assert [m.to for m in mail.outbox] == [["agent@example.test"]]


def test_a_refusal_by_pomelo_is_told_as_failed(
    people, maker, member, sandbox_pomelo, django_capture_on_commit_callbacks
):
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "10"})
    adjustment = request(people, member, direction="debit", amount="50.00")
    with django_capture_on_commit_callbacks(execute=True):
        approve(adjustment, people["approver"])
    assert Adjustment.objects.get(pk=adjustment.pk).state == Adjustment.State.FAILED
    told = _told(adjustment)
    assert [kind for kind, _ in told] == [Kind.APPROVED, Kind.FAILED]
    assert told[1][1] == (f"Your request #{adjustment.pk}, a debit of 50.00 points for usr-1, "
                          "failed at Pomelo and nothing was applied; its page says why.")
    assert len(mail.outbox) == 2


def test_expiry_is_told(people, maker, member, settings, django_capture_on_commit_callbacks):
    settings.ADJUSTMENT_EXPIRY_HOURS = 72
    adjustment = request(people, member)
    Adjustment.objects.filter(pk=adjustment.pk).update(expires_at=timezone.now() - timedelta(1))
    with django_capture_on_commit_callbacks(execute=True):
        assert adjustment_expire_overdue() == 1
    assert _told(adjustment) == [(Kind.EXPIRED, (
        f"Your request #{adjustment.pk}, a credit of 25.00 points for usr-1, expired: no "
        "approver decided it within 72 hours."))]
    assert mail.outbox[0].to == ["agent@example.test"]


def test_a_maker_without_an_email_is_told_on_screen_only(
    people, member, django_capture_on_commit_callbacks
):
    adjustment = request(people, member)  # the agent has no email address
    with django_capture_on_commit_callbacks(execute=True):
        adjustment_reject(adjustment_id=adjustment.pk, approver=people["approver"], comment="no")
    assert [kind for kind, _ in _told(adjustment)] == [Kind.REJECTED]
    assert mail.outbox == []


def test_an_email_that_cannot_be_sent_leaves_the_change_made(
    people, maker, member, settings, django_capture_on_commit_callbacks
):
    # A real SMTP backend aimed at a port nobody listens on.
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    adjustment = request(people, member)
    with django_capture_on_commit_callbacks(execute=True):
        adjustment_reject(adjustment_id=adjustment.pk, approver=people["approver"], comment="no")
    assert Adjustment.objects.get(pk=adjustment.pk).state == Adjustment.State.REJECTED
    notification = MakerNotification.objects.get(adjustment=adjustment)
    assert notification.emailed_at is None and notification.seen_at is None


def test_each_notification_is_taken_once_and_only_by_its_maker(people, member):
    adjustment = request(people, member)
    adjustment_reject(adjustment_id=adjustment.pk, approver=people["approver"], comment="no")
    assert maker_notifications_take(user=people["approver"]) == []
    [taken] = maker_notifications_take(user=people["agent"])
    assert taken.kind == Kind.REJECTED
    assert maker_notifications_take(user=people["agent"]) == []
    assert MakerNotification.objects.get().seen_at is not None
