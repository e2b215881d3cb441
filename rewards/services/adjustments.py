"""Manual credits and debits: request, approve (maker-checker), submit to Pomelo, record, and
settle a submission whose outcome was not recorded.

Each public function is one transaction and writes an audit entry for every step, except
adjustment_submit, which is three: claim, the Pomelo call outside any transaction, record.

A submission runs under a lease. A worker that dies mid-call leaves the adjustment SUBMITTING;
once the lease is over, the watchdog task queued with the claim (or the sweep, or an approver)
sends it again with the same idempotency key, but only inside the idempotency window, while
Pomelo is assumed to remember the key. Past it the adjustment waits as OUTCOME_UNKNOWN for an
approver, who re-sends it or closes it as applied or not applied.
"""

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from accounts.models import BalanceSnapshot, Card, Member, RewardAccount
from accounts.services import (
    UnknownAccountType,
    account_type_validate,
    reward_account_lock,
)
from kernel import permissions as perms
from kernel.account_types import unit_name
from kernel.errors import BackofficeError
from kernel.locks import lock_one
from kernel.tasks import task_enqueue_in_transaction
from kernel.transactions import outside_transaction
from pomelo import (
    PomeloClient,
    PomeloError,
    PomeloInsufficientBalance,
    PomeloInvalidRequest,
    PomeloNotFound,
)
from rewards.audit import audit_record
from rewards.models import Adjustment, Approval, AuditEntry, LedgerEntry
from rewards.policies import (
    approval_deadline_passed,
    approvals_required_for,
    cancel_refusal,
    debit_refusal,
    decide_refusal,
    idempotency_window,
    idempotency_window_end,
    last_automatic_send,
    may_send_automatically,
    negative_balance_allowed,
    resume_refusal,
    review_refusal,
    submission_lease,
    submission_overdue,
)
from rewards.services.balance_checks import member_balance_check
from rewards.services.ledger import ledger_post
from rewards.services.maker_notifications import maker_notification_create

State = Adjustment.State
Direction = Adjustment.Direction
Action = AuditEntry.Action
CENT = Decimal("0.01")
SECOND = timedelta(seconds=1)


class AdjustmentError(BackofficeError):
    """A request that breaks a rule. The message is shown to staff as is."""


def _amount_validate(amount) -> Decimal:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError, TypeError):
        raise AdjustmentError(gettext("Amount %(amount)r is not a number.") % {"amount": amount}) from None
    if not value.is_finite():
        raise AdjustmentError(gettext("Amount must be a finite number."))
    if value <= 0:
        raise AdjustmentError(gettext("Amount must be greater than zero."))
    if value != value.quantize(CENT):
        raise AdjustmentError(gettext("Amount can have at most 2 decimals."))
    if value >= Decimal("1e15"):
        raise AdjustmentError(gettext("Amount is too large."))
    return value.quantize(CENT)


def _available_balance(*, member: Member, account_type: str) -> Decimal:
    account = RewardAccount.objects.filter(member=member, account_type=account_type).first()
    return account.available_balance if account else Decimal("0")


def _locked(adjustment_id: int) -> Adjustment:
    try:
        # of=("self",): without it the joined member and card rows are locked FOR UPDATE too,
        # and a webhook committing a reward on that card (its foreign-key check takes a KEY
        # SHARE lock on the card) deadlocks with us while we wait for the account's lock.
        return lock_one(Adjustment.objects.select_related("member", "card"), pk=adjustment_id)
    except Adjustment.DoesNotExist:
        raise AdjustmentError(gettext("Adjustment #%(adjustment_id)s does not exist.") % {
            "adjustment_id": adjustment_id,
        }) from None


def _transition(
    adjustment: Adjustment, new_state: str, *, actor, ip_address, action, comment="", data=None,
    update_fields=(),
) -> None:
    previous = adjustment.transition_to(new_state)
    adjustment.save(update_fields=["state", "updated_at", *update_fields])
    audit_record(
        action=action, actor=actor, ip_address=ip_address, adjustment=adjustment,
        from_state=previous, to_state=new_state, comment=comment, data=data,
    )
    maker_notification_create(adjustment=adjustment, action=action, new_state=new_state)


def _enqueue_submission(adjustment: Adjustment) -> None:
    from rewards.tasks import adjustment_submit_task

    task_enqueue_in_transaction(adjustment_submit_task, adjustment_id=adjustment.pk)


def _enqueue_watchdog(adjustment: Adjustment, *, at: datetime | None = None) -> None:
    """A task that looks at the claimed attempt when its lease ends (or `at`), and resumes it if
    its worker recorded nothing by then. Queued with the claim, so a claim never lacks one."""
    from rewards.tasks import adjustment_watchdog_task

    task_enqueue_in_transaction(adjustment_watchdog_task, run_after=at or adjustment.lease_expires_at,
             adjustment_id=adjustment.pk, attempt=adjustment.submit_attempts)


def _enqueue_outcome_check(
    adjustment: Adjustment, *, actor=None, ip_address: str | None = None
) -> None:
    from rewards.tasks import adjustment_outcome_check_task

    task_enqueue_in_transaction(adjustment_outcome_check_task, adjustment_id=adjustment.pk,
             actor_id=actor.pk if actor is not None else None, ip_address=ip_address)


_OPEN_REQUEST = {
    Direction.CREDIT: gettext_lazy(
        "There is already an open credit request for %(account_type)s for this member."),
    Direction.DEBIT: gettext_lazy(
        "There is already an open debit request for %(account_type)s for this member."),
}
_OPEN_REQUEST_NAMED = {
    Direction.CREDIT: gettext_lazy("There is already an open credit request for %(account_type)s "
                                   "for this member (#%(pk)s, %(state)s)."),
    Direction.DEBIT: gettext_lazy("There is already an open debit request for %(account_type)s "
                                  "for this member (#%(pk)s, %(state)s)."),
}


def _open_request_message(direction: str, account_type: str, existing: Adjustment | None) -> str:
    # One whole sentence per direction and case, so each language words it its own way.
    values = {"account_type": unit_name(account_type)}
    if existing is None:
        return str(_OPEN_REQUEST[Direction(direction)]) % values
    return str(_OPEN_REQUEST_NAMED[Direction(direction)]) % {
        **values, "pk": existing.pk, "state": existing.get_state_display().lower(),
    }


@transaction.atomic(savepoint=False)
def adjustment_request_joined(
    *,
    maker: User,
    member: Member,
    card: Card | None,
    account_type: str,
    direction: str,
    amount,
    reason_code: str,
    reason_text: str,
    above_balance: bool = False,
    ip_address: str | None = None,
) -> Adjustment:
    """A support agent asks for a credit or a debit. Nothing moves until it is approved.

    Joins the caller's transaction (a bulk batch's row); `adjustment_request` is the entry
    point with its own."""
    if not maker.has_perm(perms.ADD_ADJUSTMENT):
        raise AdjustmentError(gettext("You do not have permission to request adjustments."))
    try:
        account_type = account_type_validate(account_type=account_type)
    except UnknownAccountType as exc:
        raise AdjustmentError(gettext("Unknown account type: %(value)s.") % {"value": exc}) from None
    if direction not in Adjustment.Direction.values:
        raise AdjustmentError(gettext("Direction must be credit or debit, not %(direction)r.") % {
            "direction": direction,
        })
    if reason_code not in Adjustment.ReasonCode.values:
        raise AdjustmentError(gettext("Unknown reason code %(reason_code)r.") % {"reason_code": reason_code})
    reason_text = (reason_text or "").strip()
    if not reason_text:
        raise AdjustmentError(gettext("Explain the reason for the adjustment."))
    if card is None:
        if not member.cards.exists():
            raise AdjustmentError(gettext("This member has no card; Pomelo adjusts balances by card."))
        raise AdjustmentError(gettext("Choose one of the member's cards."))
    if card.member_id != member.pk:
        raise AdjustmentError(gettext("Card %(pomelo_card_id)s does not belong to this member.") % {
            "pomelo_card_id": card.pomelo_card_id,
        })
    amount = _amount_validate(amount)
    if direction == Adjustment.Direction.DEBIT:
        available = _available_balance(member=member, account_type=account_type)
        if amount > available and not negative_balance_allowed():
            raise AdjustmentError(
                f"Debit of {amount} exceeds the available {account_type} balance of {available}. "
                "Pomelo does not let a balance go below zero, so it would refuse this debit; "
                + (f"request at most {available}." if available > 0 else "there is nothing to debit.")
            )
        if amount > available and not above_balance:
            raise AdjustmentError(
                gettext(
                    "Debit of %(amount)s exceeds the available %(account_type)s balance of "
                    "%(available)s. Tick 'above available balance' to ask an approver to "
                    "override.") % {
                    "amount": amount,
                    "account_type": account_type,
                    "available": available,
                }
            )

    adjustment = Adjustment(
        member=member,
        card=card,
        account_type=account_type,
        direction=direction,
        amount=amount,
        reason_code=reason_code,
        reason_text=reason_text,
        maker=maker,
        approvals_required=approvals_required_for(account_type=account_type, amount=amount),
        expires_at=timezone.now() + timedelta(hours=settings.ADJUSTMENT_EXPIRY_HOURS),
    )
    try:
        with transaction.atomic():
            adjustment.save()
    except IntegrityError:
        existing = Adjustment.objects.open().filter(
            member=member, account_type=account_type, direction=direction
        ).first()
        raise AdjustmentError(_open_request_message(direction, account_type, existing)) from None
    audit_record(
        action=Action.ADJUSTMENT_REQUESTED, actor=maker, ip_address=ip_address,
        adjustment=adjustment, to_state=adjustment.state, comment=reason_text,
        data={"amount": str(amount), "direction": direction, "account_type": account_type,
              "reason_code": reason_code, "card": card.pomelo_card_id,
              "above_balance_requested": above_balance,
              "idempotency_key": adjustment.idempotency_key},
    )
    return adjustment


# The entry point: the same function (signature, rules) in a durable transaction of its own.
adjustment_request = transaction.atomic(durable=True)(adjustment_request_joined)


def _expire_if_overdue(adjustment: Adjustment, *, now) -> bool:
    if approval_deadline_passed(adjustment, now=now):
        _transition(adjustment, State.EXPIRED, actor=None, ip_address=None,
                    action=Action.ADJUSTMENT_EXPIRED,
                    comment=f"not approved within {settings.ADJUSTMENT_EXPIRY_HOURS} h")
        return True
    return False


def _refuse(reason: str) -> None:
    if reason:
        raise AdjustmentError(reason)


_COMMENT_REQUIRED = {
    "approve": gettext_lazy("A comment is required to approve an adjustment."),
    "reject": gettext_lazy("A comment is required to reject an adjustment."),
}


def _checker_validate(adjustment: Adjustment, *, approver, comment: str, verb: str,
                      already_approved: bool = False) -> str:
    _refuse(review_refusal(adjustment, user=approver, now=timezone.now(),
                           already_approved=already_approved, verb=verb))
    comment = (comment or "").strip()
    if not comment:
        raise AdjustmentError(str(_COMMENT_REQUIRED[verb]))
    return comment


def adjustment_approve(
    *,
    adjustment_id: int,
    approver: User,
    comment: str,
    override_balance: bool = False,
    ip_address: str | None = None,
    enqueue_submission: bool = True,
) -> Adjustment:
    """Record one approval; with enough of them, approve and enqueue the Pomelo call.

    `enqueue_submission=False` is for a caller that submits the adjustment itself (a bulk
    batch's worker, which bounds how many calls run at once); the sweep still resumes it if
    that caller dies."""
    with transaction.atomic(durable=True):
        adjustment = _locked(adjustment_id)
        expired = _expire_if_overdue(adjustment, now=timezone.now())
        if not expired:
            _approve_locked(adjustment, approver=approver, comment=comment,
                            override_balance=override_balance, ip_address=ip_address,
                            enqueue_submission=enqueue_submission)
    if expired:
        # Outside the block so the expiry commits; the approval is refused.
        raise AdjustmentError(gettext("Adjustment #%(adjustment_id)s expired before it was approved.") % {
            "adjustment_id": adjustment_id,
        })
    return adjustment


@transaction.atomic(savepoint=False)
def adjustment_approve_joined(
    *, adjustment_id: int, approver: User, comment: str, enqueue_submission: bool = True
) -> Adjustment:
    """One approval of an adjustment made in the caller's transaction (a bulk batch's row,
    approved by the batch's approvers): joins that transaction, and refuses, like
    `adjustment_approve`, what the rules refuse."""
    adjustment = _locked(adjustment_id)
    if _expire_if_overdue(adjustment, now=timezone.now()):
        raise AdjustmentError(gettext("Adjustment #%(adjustment_id)s expired before it was approved.") % {
            "adjustment_id": adjustment_id,
        })
    _approve_locked(adjustment, approver=approver, comment=comment, override_balance=False,
                    ip_address=None, enqueue_submission=enqueue_submission)
    return adjustment


def _approve_locked(
    adjustment, *, approver, comment, override_balance, ip_address, enqueue_submission=True
) -> None:
    comment = _checker_validate(
        adjustment, approver=approver, comment=comment, verb="approve",
        already_approved=adjustment.approvals.filter(approver=approver).exists(),
    )
    if adjustment.direction == Adjustment.Direction.DEBIT:
        available = _available_balance(member=adjustment.member,
                                       account_type=adjustment.account_type)
        # The balance may have dropped since the request (or the setting changed): Pomelo
        # would refuse the burn, so approving it could only end in a failure.
        _refuse(debit_refusal(adjustment, available=available))
        if adjustment.amount > available and not override_balance:
            raise AdjustmentError(
                gettext(
                    "Debit of %(amount)s exceeds the available %(account_type)s balance of "
                    "%(available)s. Tick 'override balance' and explain why to approve it.") % {
                    "amount": adjustment.amount,
                    "account_type": adjustment.account_type,
                    "available": available,
                }
            )
        if adjustment.amount > available:
            adjustment.balance_override = True
            adjustment.save(update_fields=["balance_override", "updated_at"])
    Approval.objects.create(adjustment=adjustment, approver=approver, comment=comment)
    given = adjustment.approvals.count()
    data = {"approval": given, "of": adjustment.approvals_required,
            "balance_override": adjustment.balance_override}
    if given < adjustment.approvals_required:
        audit_record(action=Action.ADJUSTMENT_APPROVED, actor=approver, ip_address=ip_address,
                     adjustment=adjustment, from_state=adjustment.state,
                     to_state=adjustment.state, comment=comment, data=data)
        return
    adjustment.approved_at = timezone.now()
    _transition(adjustment, State.APPROVED, actor=approver, ip_address=ip_address,
                action=Action.ADJUSTMENT_APPROVED, comment=comment, data=data,
                update_fields=["approved_at"])
    if enqueue_submission:
        _enqueue_submission(adjustment)


@transaction.atomic(durable=True)
def adjustment_reject(
    *, adjustment_id: int, approver: User, comment: str, ip_address: str | None = None
) -> Adjustment:
    adjustment = _locked(adjustment_id)
    comment = _checker_validate(adjustment, approver=approver, comment=comment, verb="reject")
    adjustment.completed_at = timezone.now()
    _transition(adjustment, State.REJECTED, actor=approver, ip_address=ip_address,
                action=Action.ADJUSTMENT_REJECTED, comment=comment,
                update_fields=["completed_at"])
    return adjustment


@transaction.atomic(durable=True)
def adjustment_cancel(
    *, adjustment_id: int, maker: User, comment: str = "",
    ip_address: str | None = None,
) -> Adjustment:
    """The maker withdraws their own request while it waits for approval."""
    adjustment = _locked(adjustment_id)
    _refuse(cancel_refusal(adjustment, user=maker))
    adjustment.completed_at = timezone.now()
    _transition(adjustment, State.CANCELLED, actor=maker, ip_address=ip_address,
                action=Action.ADJUSTMENT_CANCELLED, comment=comment.strip(),
                update_fields=["completed_at"])
    return adjustment


def adjustment_expire_overdue(*, now=None) -> int:
    """Expire every request still pending approval past its deadline. One transaction each,
    so a long backlog never holds many locks."""
    now = now or timezone.now()
    expired = 0
    overdue = Adjustment.objects.filter(state=State.PENDING_APPROVAL, expires_at__lte=now)
    for adjustment_id in overdue.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic(durable=True):
            expired += _expire_if_overdue(_locked(adjustment_id), now=now)
    return expired


# --- Submission to Pomelo -------------------------------------------------------------------

_ATTEMPT_FIELDS = ("first_sent_at", "submitted_at", "submit_attempts", "lease_expires_at")
_EXCHANGE_FIELDS = ("pomelo_request", "pomelo_status_code", "pomelo_response")


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _utc(value: datetime | None) -> str:
    return f"{value:%Y-%m-%d %H:%M:%S} UTC" if value else "—"


def _attempt_start(adjustment: Adjustment, *, now: datetime) -> None:
    adjustment.submitted_at = now
    adjustment.submit_attempts += 1
    adjustment.lease_expires_at = now + submission_lease()
    if adjustment.first_sent_at is None:
        adjustment.first_sent_at = now


def _attempt_data(adjustment: Adjustment) -> dict:
    return {
        "attempt": adjustment.submit_attempts,
        "idempotency_key": adjustment.idempotency_key,
        "lease_expires_at": _iso(adjustment.lease_expires_at),
        "first_sent_at": _iso(adjustment.first_sent_at),
        "idempotency_window_ends_at": _iso(idempotency_window_end(adjustment)),
    }


def _window_words(adjustment: Adjustment) -> str:
    return (f"the idempotency window ({int(idempotency_window().total_seconds())} s from the first "
            f"send at {_utc(adjustment.first_sent_at)})")


def _outcome_unknown(
    adjustment: Adjustment, *, reason: str, actor=None, ip_address: str | None = None,
    comment: str = "", update_fields=(),
) -> None:
    """SUBMITTING → OUTCOME_UNKNOWN, with a fresh balance check from Pomelo queued for the
    approver who will decide. Joins the caller's transaction."""
    adjustment.failure_reason = reason
    _transition(adjustment, State.OUTCOME_UNKNOWN, actor=actor, ip_address=ip_address,
                action=Action.ADJUSTMENT_OUTCOME_UNKNOWN, comment=comment or reason,
                data=_attempt_data(adjustment), update_fields=["failure_reason", *update_fields])
    _enqueue_outcome_check(adjustment)


def _claim_submission(
    adjustment_id: int, *, now: datetime, watchdog_attempt: int | None = None
) -> Adjustment | None:
    """Claim the next attempt, or return None when there is nothing to send now.

    APPROVED is claimed at once. SUBMITTING is claimed only when its lease is over (the worker
    that held it died, or its attempt failed on the way), and only inside the idempotency
    window; past it the adjustment becomes OUTCOME_UNKNOWN instead.
    """
    with transaction.atomic(durable=True):
        adjustment = _locked(adjustment_id)
        if adjustment.state == State.APPROVED:
            _attempt_start(adjustment, now=now)
            _transition(adjustment, State.SUBMITTING, actor=None, ip_address=None,
                        action=Action.ADJUSTMENT_SUBMITTING, data=_attempt_data(adjustment),
                        update_fields=_ATTEMPT_FIELDS)
            _enqueue_watchdog(adjustment)
            return adjustment
        if adjustment.state != State.SUBMITTING:
            return None  # settled, or waiting for a person
        if not submission_overdue(adjustment, now=now):
            if watchdog_attempt == adjustment.submit_attempts:
                # This watchdog ran before the lease ended by this machine's clock (machines'
                # clocks differ): look again a little after it has, never in a tight loop.
                _enqueue_watchdog(adjustment, at=max(adjustment.lease_expires_at or now, now) + SECOND)
            return None  # a live run holds the lease
        previous = adjustment.submit_attempts
        if not may_send_automatically(adjustment, at=now):
            _outcome_unknown(adjustment, reason=(
                f"Attempt {previous} recorded no answer from Pomelo by the end of its lease "
                f"({_utc(adjustment.lease_expires_at)}): its worker stopped, or Pomelo could not "
                f"be reached. Pomelo may have applied it, and {_window_words(adjustment)} has "
                "passed, so it is not sent again automatically. An approver checks the balance "
                "at Pomelo and re-sends it or closes it as applied or not applied."
            ))
            return None
        lease_ended = adjustment.lease_expires_at
        _attempt_start(adjustment, now=now)
        adjustment.save(update_fields=[*_ATTEMPT_FIELDS, "updated_at"])
        audit_record(
            action=Action.ADJUSTMENT_RESUMED, actor=None, adjustment=adjustment,
            from_state=adjustment.state, to_state=adjustment.state,
            comment=(f"Attempt {previous} recorded no outcome by the end of its lease "
                     f"({_utc(lease_ended)}); sending again with the same idempotency key, "
                     f"inside {_window_words(adjustment)}."),
            data=_attempt_data(adjustment),
        )
        _enqueue_watchdog(adjustment)
        return adjustment


def adjustment_submit(
    *,
    adjustment_id: int,
    client: PomeloClient | None = None,
    now: datetime | None = None,
    watchdog_attempt: int | None = None,
) -> Adjustment | None:
    """Send an approved adjustment to Pomelo (mint or burn), or resume one whose lease is over.

    Claim, call Pomelo with no transaction or lock held, record. A second run finds the claim
    and does nothing (None). Automatic retries, the client's and ours, stop at the end of the
    idempotency window; a send past it (only a person's re-send) is one request, no retry.
    """
    adjustment = _claim_submission(
        adjustment_id, now=now or timezone.now(), watchdog_attempt=watchdog_attempt
    )
    if adjustment is None:
        return None
    attempt = adjustment.submit_attempts
    latest, sent = last_automatic_send(adjustment), adjustment.submitted_at
    assert latest is not None and sent is not None  # the claim set both
    outside_transaction()  # the claim committed; Pomelo is called with no transaction open
    client = client or PomeloClient.from_settings()
    call = client.mint if adjustment.direction == Adjustment.Direction.CREDIT else client.burn
    response, error = None, None
    try:
        response = call(
            account_type=adjustment.account_type,
            card_id=adjustment.card.pomelo_card_id,
            amount=adjustment.amount,
            reason=f"{adjustment.reason_code}: {adjustment.reason_text}"[:250],
            idempotency_key=adjustment.idempotency_key,
            retry_until=max(latest, sent),
        )
    except PomeloError as exc:
        error = exc
    return _submission_record(adjustment_id, attempt=attempt, response=response, error=error)


def _exchange_record(exc: PomeloError | None, response) -> dict:
    if exc is None:
        return {"request": response.request, "status_code": response.status_code,
                "response": response.raw_body[:10000], "attempts": response.attempts}
    return {"request": exc.request, "status_code": exc.status_code,
            "response": (exc.raw_body or "")[:10000], "attempts": exc.attempts,
            "uncertain_attempts": exc.uncertain_attempts,
            "error": str(exc), "transient": exc.transient}


def _ledger_book(adjustment: Adjustment) -> None:
    """The adjustment's one ledger entry (a unique constraint refuses a second). Joins the
    caller's transaction, which holds the adjustment's row lock."""
    account = reward_account_lock(member=adjustment.member, account_type=adjustment.account_type)
    ledger_post(account=account, bucket=LedgerEntry.Bucket.AVAILABLE,
                amount=adjustment.signed_amount, adjustment=adjustment,
                description=f"manual {adjustment.direction} #{adjustment.pk}")
    account.save(update_fields=["pending_balance", "available_balance", "updated_at"])


def _refused_by_pomelo(error: PomeloError) -> bool:
    """Pomelo processed the request and said no. A 409 is left out: it may mean that the key
    is still being processed (undocumented)."""
    refusal = (PomeloInsufficientBalance, PomeloNotFound, PomeloInvalidRequest)
    return isinstance(error, refusal) and error.status_code != 409


@transaction.atomic(durable=True)
def _submission_record(adjustment_id: int, *, attempt: int, response,
                       error: PomeloError | None) -> Adjustment:
    adjustment = _locked(adjustment_id)
    exchange = {**_exchange_record(error, response), "attempt": attempt}
    audit_record(action=Action.POMELO_EXCHANGE, actor=None, adjustment=adjustment,
                 from_state=adjustment.state, to_state=adjustment.state, data=exchange)
    if adjustment.state != State.SUBMITTING:
        return adjustment  # settled meanwhile; the audit keeps this exchange
    if error is not None and attempt != adjustment.submit_attempts:
        return adjustment  # a newer attempt, resumed after this one's lease, owns the outcome
    adjustment.pomelo_request = exchange["request"]
    adjustment.pomelo_status_code = exchange["status_code"]
    adjustment.pomelo_response = exchange["response"]
    if error is None:
        _succeed(adjustment, response=response)
    else:
        _fail(adjustment, error=error)
    return adjustment


def _succeed(adjustment: Adjustment, *, response) -> None:
    adjustment.pomelo_reference = _reference(response.data)
    adjustment.completed_at = timezone.now()
    _ledger_book(adjustment)
    adjustment.failure_reason = ""
    comment = ""
    assert adjustment.submitted_at is not None  # set by the claim of this attempt
    if not may_send_automatically(adjustment, at=adjustment.submitted_at):
        comment = (
            "Pomelo accepted a re-send made after the idempotency window. If an earlier "
            "attempt had also been applied and Pomelo no longer remembered its key, Pomelo "
            "holds it twice while our ledger counts it once: reconciliation shows the "
            "difference."
        )
    _transition(adjustment, State.SUCCEEDED, actor=None, ip_address=None,
                action=Action.ADJUSTMENT_SUCCEEDED, comment=comment,
                data={"pomelo_reference": adjustment.pomelo_reference,
                      "attempt": adjustment.submit_attempts},
                update_fields=["completed_at", "pomelo_reference", "failure_reason",
                               *_EXCHANGE_FIELDS])


def _fail(adjustment: Adjustment, *, error: PomeloError) -> None:
    """What a failed attempt means for the adjustment.

    Inside the idempotency window Pomelo remembers the key, so its refusal covers every earlier
    attempt too: the adjustment ends FAILED. When an earlier attempt may have reached Pomelo
    and Pomelo's word on it cannot be trusted (a transport failure, or a refusal of a send made
    after the window), the outcome is unknown: sent again automatically while the window allows,
    otherwise left to an approver.
    """
    attempt = adjustment.submit_attempts
    assert adjustment.submitted_at is not None  # set by the claim of this attempt
    sent_in_window = may_send_automatically(adjustment, at=adjustment.submitted_at)
    earlier_uncertain = attempt > 1 or error.uncertain_attempts > 0
    fields = ["failure_reason", *_EXCHANGE_FIELDS]
    if _refused_by_pomelo(error) and (sent_in_window or not earlier_uncertain):
        adjustment.failure_reason = (
            f"Pomelo refused it: {error}. Nothing was applied and this request is closed: "
            "sent again with the same key it would get the same answer. If the change is "
            "still needed, request it again."
        )
    elif not error.transient and not earlier_uncertain:
        adjustment.failure_reason = (
            f"Pomelo did not accept it: {error}. Nothing was applied and this request is "
            "closed. Once the cause is fixed, request it again."
        )
    elif may_send_automatically(adjustment, at=adjustment.lease_expires_at or timezone.now()):
        # Stays SUBMITTING: the watchdog queued with the claim resumes it when the lease ends.
        adjustment.failure_reason = (
            f"Attempt {attempt} failed: {error}. Pomelo may or may not have applied it. It is "
            f"sent again automatically with the same idempotency key after "
            f"{_utc(adjustment.lease_expires_at)}, inside {_window_words(adjustment)}."
        )
        adjustment.save(update_fields=[*fields, "updated_at"])
        return
    else:
        what = (f"Pomelo refused a send made after the idempotency window ({error}); that says "
                "nothing certain about the earlier attempts" if _refused_by_pomelo(error)
                else f"attempt {attempt} failed ({error})")
        _outcome_unknown(adjustment, reason=(
            f"The outcome is unknown: {what}. Pomelo may have applied an attempt, and "
            f"{_window_words(adjustment)} has passed or would pass before the next one, so it is "
            "not sent again automatically. An approver checks the balance at Pomelo and "
            "re-sends it or closes it as applied or not applied."
        ), update_fields=_EXCHANGE_FIELDS)
        return
    adjustment.completed_at = timezone.now()
    _transition(adjustment, State.FAILED, actor=None, ip_address=None,
                action=Action.ADJUSTMENT_FAILED, comment=adjustment.failure_reason,
                update_fields=["completed_at", *fields])


def _reference(data: dict) -> str:
    for key in ("id", "transaction_id", "movement_id", "reference", "operation_id"):
        value = data.get(key) if isinstance(data, dict) else None
        if value not in (None, ""):
            return str(value)[:200]
    return ""


# --- Settling submissions whose outcome was not recorded ----------------------------------


def adjustment_resume_overdue(
    *, now: datetime | None = None, client: PomeloClient | None = None
) -> dict[int, str]:
    """The sweep: every submission whose lease is over, and every approved adjustment whose
    task was lost, is sent again with its key inside the idempotency window, or handed to an
    approver past it. Returns each adjustment's state afterwards, by id.

    The watchdog queued with each claim does the same for one adjustment; this catches what a
    lost or in-process queue never ran.
    """
    now = now or timezone.now()
    overdue = (
        Adjustment.objects.filter(state=State.SUBMITTING, lease_expires_at__lte=now)
        | Adjustment.objects.filter(state=State.SUBMITTING, lease_expires_at__isnull=True)
        | Adjustment.objects.filter(state=State.APPROVED, updated_at__lte=now - submission_lease())
    )
    outcomes = {}
    for adjustment_id in overdue.order_by("pk").values_list("pk", flat=True):
        adjustment_submit(adjustment_id=adjustment_id, now=now, client=client)
        outcomes[adjustment_id] = Adjustment.objects.values_list("state", flat=True).get(
            pk=adjustment_id
        )
    return outcomes


def adjustment_resume(
    *, adjustment_id: int, actor: User, comment: str = "",
    ip_address: str | None = None,
) -> Adjustment:
    """An approver has an overdue submission picked up now rather than by the watchdog or the
    sweep. The Pomelo call itself runs in a task: no request waits on Pomelo."""
    comment = (comment or "").strip()
    with transaction.atomic(durable=True):
        adjustment = _locked(adjustment_id)
        now = timezone.now()
        _refuse(resume_refusal(adjustment, user=actor, now=now))
        if adjustment.state == State.SUBMITTING and not may_send_automatically(adjustment, at=now):
            _outcome_unknown(
                adjustment, actor=actor, ip_address=ip_address, comment=comment,
                reason=(f"Attempt {adjustment.submit_attempts} recorded no answer from Pomelo, and "
                        f"{_window_words(adjustment)} has passed, so it is not sent again without "
                        "a decision. Pomelo may have applied it: check the balance at Pomelo and "
                        "re-send it or close it as applied or not applied."),
            )
            return adjustment
        audit_record(
            action=Action.ADJUSTMENT_RESUMED, actor=actor, ip_address=ip_address,
            adjustment=adjustment, from_state=adjustment.state, to_state=adjustment.state,
            comment=comment, data={"requested": True, "idempotency_key": adjustment.idempotency_key},
        )
        _enqueue_submission(adjustment)
    return adjustment


def adjustment_outcome_check_request(
    *, adjustment_id: int, actor: User, ip_address: str | None = None
) -> Adjustment:
    """An approver asks for a fresh balance from Pomelo beside an adjustment of unknown outcome.
    A task asks Pomelo: no request waits on it."""
    if not actor.has_perm(perms.CHECK_BALANCE):
        raise AdjustmentError(gettext("You do not have permission to check balances at Pomelo."))
    with transaction.atomic(durable=True):
        adjustment = _locked(adjustment_id)
        if adjustment.state != State.OUTCOME_UNKNOWN:
            raise AdjustmentError(
                gettext(
                    "Adjustment #%(pk)s is %(state)s; the balance is checked here only while an"
                    " adjustment's outcome is unknown.") % {
                    "pk": adjustment.pk,
                    "state": adjustment.get_state_display().lower(),
                }
            )
        _enqueue_outcome_check(adjustment, actor=actor, ip_address=ip_address)
    return adjustment


def adjustment_outcome_check(
    *, adjustment_id: int, actor_id: int | None = None, ip_address: str | None = None,
    client: PomeloClient | None = None,
) -> BalanceSnapshot | None:
    """Ask Pomelo for the member's balance now (by the adjustment's card), to set beside the
    change the adjustment would have made; audited as the approver's (`actor_id`) or the
    system's check. Only while its outcome is unknown."""
    adjustment = Adjustment.objects.select_related("member", "card").get(pk=adjustment_id)
    if adjustment.state != State.OUTCOME_UNKNOWN:
        return None
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id is not None else None
    return member_balance_check(member=adjustment.member, actor=actor, card=adjustment.card,
                                ip_address=ip_address, client=client)


class Decision:
    RESEND = "resend"
    APPLIED = "applied"
    NOT_APPLIED = "not_applied"
    ALL = (RESEND, APPLIED, NOT_APPLIED)


def adjustment_decide(
    *, adjustment_id: int, approver: User, decision: str, comment: str,
    ip_address: str | None = None,
) -> Adjustment:
    """An approver settles an adjustment whose outcome is unknown.

    - resend: back to APPROVED; a task sends it once more with the same key. Pomelo may no
      longer remember the key: if an earlier attempt was applied, this one may apply again.
    - applied: Pomelo did apply it. The ledger books it now, once (as Pomelo's confirmation
      would have), and it ends SUCCEEDED.
    - not_applied: Pomelo did not apply it. Nothing is booked; it ends FAILED, and a new
      request (with a new key) can follow.
    """
    if not approver.has_perm(perms.APPROVE_ADJUSTMENT):
        raise AdjustmentError(gettext("You do not have permission to decide the outcome of adjustments."))
    if decision not in Decision.ALL:
        raise AdjustmentError(gettext("Unknown decision %(decision)r.") % {"decision": decision})
    comment = (comment or "").strip()
    if not comment:
        raise AdjustmentError(gettext("A comment is required: say what the balance at Pomelo showed."))
    with transaction.atomic(durable=True):
        adjustment = _locked(adjustment_id)
        _refuse(decide_refusal(adjustment, user=approver))
        snapshot = (BalanceSnapshot.objects.filter(member=adjustment.member)
                    .order_by("-created_at", "-id").first())
        data = {
            "decision": decision, **_attempt_data(adjustment),
            "balance_snapshot": snapshot.pk if snapshot else None,
            "pomelo_balance": snapshot.balances.get(adjustment.account_type) if snapshot else None,
            "ledger_balance": snapshot.ledger_balances.get(adjustment.account_type) if snapshot else None,
        }
        if decision == Decision.RESEND:
            adjustment.failure_reason = ""
            _transition(adjustment, State.APPROVED, actor=approver, ip_address=ip_address,
                        action=Action.ADJUSTMENT_RESENT, comment=comment, data=data,
                        update_fields=["failure_reason"])
            _enqueue_submission(adjustment)
            return adjustment
        adjustment.resolved_by = approver
        adjustment.completed_at = timezone.now()
        if decision == Decision.APPLIED:
            _ledger_book(adjustment)
            adjustment.failure_reason = ""
            new_state = State.SUCCEEDED
        else:
            adjustment.failure_reason = (
                f"Closed as not applied at Pomelo by {approver.get_username()}: {comment}"
            )
            new_state = State.FAILED
        _transition(adjustment, new_state, actor=approver, ip_address=ip_address,
                    action=Action.ADJUSTMENT_CLOSED, comment=comment, data=data,
                    update_fields=["resolved_by", "completed_at", "failure_reason"])
    return adjustment
