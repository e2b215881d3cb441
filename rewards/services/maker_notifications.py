"""Telling makers what became of their requests: a notification row written with the change,
shown once on their next page, and an email sent after the change commits.

The row holds no text: `maker_notification_text` writes it when it is shown or sent, in the
language active then. An email never decides anything: it is sent by a task after the commit,
and a failure to send is logged, never raised into the change it reports.
"""

import logging

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core.mail import send_mail
from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from kernel.account_types import unit_name
from kernel.locks import lock_for_update
from kernel.tasks import task_enqueue_in_transaction
from rewards.models import Adjustment, AuditEntry, MakerNotification

logger = logging.getLogger(__name__)
Kind = MakerNotification.Kind
State = Adjustment.State
Action = AuditEntry.Action

# (audit action, new state) → what the maker is told. Approval is told once, when the last
# approval is given (a re-send by an approver also leads to APPROVED, under another action).
KIND_OF_CHANGE: dict[tuple[str, str], str] = {
    (Action.ADJUSTMENT_APPROVED, State.APPROVED): Kind.APPROVED,
    (Action.ADJUSTMENT_REJECTED, State.REJECTED): Kind.REJECTED,
    (Action.ADJUSTMENT_EXPIRED, State.EXPIRED): Kind.EXPIRED,
    (Action.ADJUSTMENT_FAILED, State.FAILED): Kind.FAILED,
    (Action.ADJUSTMENT_CLOSED, State.FAILED): Kind.FAILED,
}


@transaction.atomic(savepoint=False)
def maker_notification_create(
    *, adjustment: Adjustment, action: str, new_state: str
) -> MakerNotification | None:
    """Record what the maker of `adjustment` is told about this change, if anything, and queue
    its email for after the commit. Joins the caller's transaction (the change's own).

    The rows of a bulk batch are told through the batch, not one by one."""
    kind = KIND_OF_CHANGE.get((action, new_state))
    if kind is None or getattr(adjustment, "bulk_row", None) is not None:
        return None
    notification = MakerNotification.objects.create(
        user_id=adjustment.maker_id, adjustment=adjustment, kind=kind
    )
    if adjustment.maker.email:
        from rewards.tasks import maker_notification_email_task

        task_enqueue_in_transaction(maker_notification_email_task, notification_id=notification.pk)
    return notification


def maker_notification_text(notification: MakerNotification) -> str:
    """The sentence the maker reads, written now (so in the language active now)."""
    adjustment = notification.adjustment
    values = {
        "id": adjustment.pk,
        "direction": (_("credit") if adjustment.direction == Adjustment.Direction.CREDIT
                      else _("debit")),
        "amount": formats.localize(adjustment.amount, use_l10n=True),
        "unit": unit_name(adjustment.account_type),
        "member": adjustment.member.pomelo_user_id,
    }
    if notification.kind == Kind.APPROVED:
        text = _("Your request #%(id)s, a %(direction)s of %(amount)s %(unit)s for %(member)s, "
                 "was approved and is being sent to Pomelo.")
    elif notification.kind == Kind.REJECTED:
        text = _("Your request #%(id)s, a %(direction)s of %(amount)s %(unit)s for %(member)s, "
                 "was rejected; the approver's comment is on its page.")
    elif notification.kind == Kind.FAILED:
        text = _("Your request #%(id)s, a %(direction)s of %(amount)s %(unit)s for %(member)s, "
                 "failed at Pomelo and nothing was applied; its page says why.")
    else:
        values["hours"] = settings.ADJUSTMENT_EXPIRY_HOURS
        text = _("Your request #%(id)s, a %(direction)s of %(amount)s %(unit)s for %(member)s, "
                 "expired: no approver decided it within %(hours)s hours.")
    return text % values


def maker_notifications_take(*, user: AbstractBaseUser) -> list[MakerNotification]:
    """The user's notifications not shown yet, oldest first, marked seen: each is shown once."""
    if not MakerNotification.objects.filter(user_id=user.pk, seen_at__isnull=True).exists():
        return []  # the common case: one indexed read, no transaction
    with transaction.atomic(durable=True):
        taken = list(
            lock_for_update(MakerNotification.objects.filter(user_id=user.pk, seen_at__isnull=True))
            .select_related("adjustment__member").order_by("created_at", "id")
        )
        MakerNotification.objects.filter(pk__in=[n.pk for n in taken]).update(seen_at=timezone.now())
    return taken


def maker_notification_email_send(*, notification_id: int) -> bool:
    """Email one notification to its maker, once. Returns whether it was sent; a failure is
    logged (the change it reports is committed and stays)."""
    notification = (MakerNotification.objects.select_related("user", "adjustment__member")
                    .filter(pk=notification_id, emailed_at__isnull=True).first())
    if notification is None or not notification.user.email:
        return False
    try:
        send_mail(
            subject=_("Your request #%(id)s: %(kind)s") % {
                "id": notification.adjustment_id, "kind": notification.get_kind_display().lower()},
            message=maker_notification_text(notification),
            from_email=None,
            recipient_list=[notification.user.email],
        )
    except Exception:
        logger.exception("could not email notification #%s to its maker", notification_id)
        return False
    with transaction.atomic(durable=True):
        MakerNotification.objects.filter(pk=notification_id).update(emailed_at=timezone.now())
    return True
