"""Manual credits and debits: request, approve (maker-checker), submit to Pomelo, record.

Each public function is one transaction (adjustment_submit is three: claim, Pomelo call
outside any transaction, record) and writes an audit entry for every step.
"""

from datetime import timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import Card, Member, RewardAccount
from accounts.services import UnknownAccountType, account_type_validate, reward_account_lock
from loyalty_backoffice.pomelo import PomeloClient, PomeloError
from rewards.audit import audit_record
from rewards.models import Adjustment, Approval, AuditEntry, LedgerEntry
from rewards.services.ledger import ledger_post

State = Adjustment.State
Action = AuditEntry.Action
CENT = Decimal("0.01")
# A submission that has not recorded its outcome after this long is presumed dead (worker
# killed mid-call) and may be resumed, with the same idempotency key.
SUBMISSION_LEASE = timedelta(minutes=5)


class AdjustmentError(Exception):
    """A request that breaks a rule. The message is shown to staff as is."""


def _amount_validate(amount) -> Decimal:
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError, TypeError):
        raise AdjustmentError(f"Amount {amount!r} is not a number.") from None
    if not value.is_finite():
        raise AdjustmentError("Amount must be a finite number.")
    if value <= 0:
        raise AdjustmentError("Amount must be greater than zero.")
    if value != value.quantize(CENT):
        raise AdjustmentError("Amount can have at most 2 decimals.")
    if value >= Decimal("1e15"):
        raise AdjustmentError("Amount is too large.")
    return value.quantize(CENT)


def _available_balance(*, member: Member, account_type: str) -> Decimal:
    account = RewardAccount.objects.filter(member=member, account_type=account_type).first()
    return account.available_balance if account else Decimal("0")


def approvals_required_for(*, account_type: str, amount: Decimal) -> int:
    threshold = settings.ADJUSTMENT_SECOND_APPROVAL_ABOVE.get(account_type)
    return 2 if threshold is not None and amount > threshold else 1


def _locked(adjustment_id: int) -> Adjustment:
    try:
        return Adjustment.objects.select_for_update().select_related("member", "card").get(
            pk=adjustment_id
        )
    except Adjustment.DoesNotExist:
        raise AdjustmentError(f"Adjustment #{adjustment_id} does not exist.") from None


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


def _enqueue_submission(adjustment: Adjustment) -> None:
    from rewards.tasks import adjustment_submit_task

    # After commit: the worker must see the APPROVED row, and a rollback must enqueue nothing.
    transaction.on_commit(lambda: adjustment_submit_task.enqueue(adjustment_id=adjustment.pk))


@transaction.atomic
def adjustment_request(
    *,
    maker: AbstractBaseUser,
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
    """A support agent asks for a credit or a debit. Nothing moves until it is approved."""
    if not maker.has_perm("rewards.add_adjustment"):
        raise AdjustmentError("You do not have permission to request adjustments.")
    try:
        account_type = account_type_validate(account_type=account_type)
    except UnknownAccountType as exc:
        raise AdjustmentError(f"Unknown account type: {exc}.") from None
    if direction not in Adjustment.Direction.values:
        raise AdjustmentError(f"Direction must be credit or debit, not {direction!r}.")
    if reason_code not in Adjustment.ReasonCode.values:
        raise AdjustmentError(f"Unknown reason code {reason_code!r}.")
    reason_text = (reason_text or "").strip()
    if not reason_text:
        raise AdjustmentError("Explain the reason for the adjustment.")
    if card is None:
        if not member.cards.exists():
            raise AdjustmentError("This member has no card; Pomelo adjusts balances by card.")
        raise AdjustmentError("Choose one of the member's cards.")
    if card.member_id != member.pk:
        raise AdjustmentError(f"Card {card.pomelo_card_id} does not belong to this member.")
    amount = _amount_validate(amount)
    if direction == Adjustment.Direction.DEBIT:
        available = _available_balance(member=member, account_type=account_type)
        if amount > available and not above_balance:
            raise AdjustmentError(
                f"Debit of {amount} exceeds the available {account_type} balance of {available}. "
                "Tick 'above available balance' to ask an approver to override."
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
        raise AdjustmentError(
            f"There is already an open {direction} request for {account_type} for this member"
            + (f" (#{existing.pk}, {existing.get_state_display().lower()})." if existing else ".")
        ) from None
    audit_record(
        action=Action.ADJUSTMENT_REQUESTED, actor=maker, ip_address=ip_address,
        adjustment=adjustment, to_state=adjustment.state, comment=reason_text,
        data={"amount": str(amount), "direction": direction, "account_type": account_type,
              "reason_code": reason_code, "card": card.pomelo_card_id,
              "above_balance_requested": above_balance,
              "idempotency_key": adjustment.idempotency_key},
    )
    return adjustment


def _expire_if_overdue(adjustment: Adjustment, *, now) -> bool:
    if adjustment.state == State.PENDING_APPROVAL and adjustment.expires_at <= now:
        _transition(adjustment, State.EXPIRED, actor=None, ip_address=None,
                    action=Action.ADJUSTMENT_EXPIRED,
                    comment=f"not approved within {settings.ADJUSTMENT_EXPIRY_HOURS} h")
        return True
    return False


def _checker_validate(adjustment: Adjustment, *, approver, comment: str, verb: str) -> str:
    if not approver.has_perm("rewards.approve_adjustment"):
        raise AdjustmentError(f"You do not have permission to {verb} adjustments.")
    if adjustment.maker_id == approver.pk:
        raise AdjustmentError(f"You requested adjustment #{adjustment.pk}; you cannot {verb} it.")
    comment = (comment or "").strip()
    if not comment:
        raise AdjustmentError(f"A comment is required to {verb} an adjustment.")
    if adjustment.state != State.PENDING_APPROVAL:
        raise AdjustmentError(
            f"Adjustment #{adjustment.pk} is {adjustment.get_state_display().lower()}; "
            f"only a request pending approval can be {verb}d."
        )
    return comment


def adjustment_approve(
    *,
    adjustment_id: int,
    approver: AbstractBaseUser,
    comment: str,
    override_balance: bool = False,
    ip_address: str | None = None,
) -> Adjustment:
    """Record one approval; with enough of them, approve and enqueue the Pomelo call."""
    with transaction.atomic():
        adjustment = _locked(adjustment_id)
        if _expire_if_overdue(adjustment, now=timezone.now()):
            expired = True
        else:
            expired = False
            _approve_locked(adjustment, approver=approver, comment=comment,
                            override_balance=override_balance, ip_address=ip_address)
    if expired:
        # Outside the block so the expiry commits; the approval is refused.
        raise AdjustmentError(f"Adjustment #{adjustment_id} expired before it was approved.")
    return adjustment


def _approve_locked(adjustment, *, approver, comment, override_balance, ip_address) -> None:
    comment = _checker_validate(adjustment, approver=approver, comment=comment, verb="approve")
    if adjustment.approvals.filter(approver=approver).exists():
        raise AdjustmentError(
            f"You already approved adjustment #{adjustment.pk}; a different approver is needed."
        )
    if adjustment.direction == Adjustment.Direction.DEBIT:
        available = _available_balance(member=adjustment.member,
                                       account_type=adjustment.account_type)
        if adjustment.amount > available and not override_balance:
            raise AdjustmentError(
                f"Debit of {adjustment.amount} exceeds the available {adjustment.account_type} "
                f"balance of {available}. Tick 'override balance' and explain why to approve it."
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
    _enqueue_submission(adjustment)


@transaction.atomic
def adjustment_reject(
    *, adjustment_id: int, approver: AbstractBaseUser, comment: str, ip_address: str | None = None
) -> Adjustment:
    adjustment = _locked(adjustment_id)
    comment = _checker_validate(adjustment, approver=approver, comment=comment, verb="reject")
    adjustment.completed_at = timezone.now()
    _transition(adjustment, State.REJECTED, actor=approver, ip_address=ip_address,
                action=Action.ADJUSTMENT_REJECTED, comment=comment,
                update_fields=["completed_at"])
    return adjustment


@transaction.atomic
def adjustment_cancel(
    *, adjustment_id: int, maker: AbstractBaseUser, comment: str = "",
    ip_address: str | None = None,
) -> Adjustment:
    """The maker withdraws their own request while it waits for approval."""
    adjustment = _locked(adjustment_id)
    if adjustment.maker_id != maker.pk:
        raise AdjustmentError("Only the person who requested an adjustment can cancel it.")
    if adjustment.state != State.PENDING_APPROVAL:
        raise AdjustmentError(
            f"Adjustment #{adjustment.pk} is {adjustment.get_state_display().lower()}; "
            "only a request pending approval can be cancelled."
        )
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
        with transaction.atomic():
            expired += _expire_if_overdue(_locked(adjustment_id), now=now)
    return expired


@transaction.atomic
def adjustment_retry(
    *, adjustment_id: int, approver: AbstractBaseUser, comment: str = "",
    ip_address: str | None = None,
) -> Adjustment:
    """Send a failed adjustment to Pomelo again, with the same idempotency key."""
    if not approver.has_perm("rewards.retry_adjustment"):
        raise AdjustmentError("You do not have permission to retry adjustments.")
    adjustment = _locked(adjustment_id)
    if adjustment.state != State.FAILED:
        raise AdjustmentError(
            f"Adjustment #{adjustment.pk} is {adjustment.get_state_display().lower()}; "
            "only a failed adjustment can be retried."
        )
    try:
        with transaction.atomic():
            _transition(adjustment, State.APPROVED, actor=approver, ip_address=ip_address,
                        action=Action.ADJUSTMENT_RETRIED, comment=(comment or "").strip(),
                        data={"idempotency_key": adjustment.idempotency_key})
    except IntegrityError:
        raise AdjustmentError(
            "Another open request for the same member, account type and direction exists; "
            "settle it first."
        ) from None
    _enqueue_submission(adjustment)
    return adjustment


def _claim_submission(adjustment_id: int) -> Adjustment | None:
    with transaction.atomic():
        adjustment = _locked(adjustment_id)
        now = timezone.now()
        if adjustment.state == State.APPROVED:
            adjustment.submitted_at = now
            adjustment.submit_attempts += 1
            _transition(adjustment, State.SUBMITTING, actor=None, ip_address=None,
                        action=Action.ADJUSTMENT_SUBMITTING,
                        data={"attempt": adjustment.submit_attempts,
                              "idempotency_key": adjustment.idempotency_key},
                        update_fields=["submitted_at", "submit_attempts"])
            return adjustment
        lease_over = adjustment.submitted_at and adjustment.submitted_at <= now - SUBMISSION_LEASE
        if adjustment.state == State.SUBMITTING and lease_over:
            # The previous run died between its call and its record. Pomelo dedupes on the
            # key, so calling again cannot apply twice.
            adjustment.submitted_at = now
            adjustment.submit_attempts += 1
            adjustment.save(update_fields=["submitted_at", "submit_attempts", "updated_at"])
            return adjustment
        return None  # another run holds it, or it is settled


_EXCHANGE_FIELDS = ("pomelo_request", "pomelo_status_code", "pomelo_response")


def _exchange_record(exc: PomeloError | None, response) -> dict:
    if exc is None:
        return {"request": response.request, "status_code": response.status_code,
                "response": response.raw_body[:10000], "attempts": response.attempts}
    return {"request": exc.request, "status_code": exc.status_code,
            "response": (exc.raw_body or "")[:10000], "attempts": exc.attempts,
            "error": str(exc), "transient": exc.transient}


def adjustment_submit(*, adjustment_id: int, client: PomeloClient | None = None) -> Adjustment | None:
    """Call Pomelo's mint or burn for an approved adjustment, exactly once in effect.

    The row is claimed (APPROVED → SUBMITTING) in one transaction, Pomelo is called with no
    transaction or lock held, and the outcome is recorded in another. A second run finds the
    claim and does nothing; a run that died mid-call is resumed after the lease with the same
    idempotency key, which Pomelo uses to refuse a second effect.
    """
    adjustment = _claim_submission(adjustment_id)
    if adjustment is None:
        return None
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
        )
    except PomeloError as exc:
        error = exc
    return _submission_record(adjustment_id, response=response, error=error)


@transaction.atomic
def _submission_record(adjustment_id: int, *, response, error: PomeloError | None) -> Adjustment:
    adjustment = _locked(adjustment_id)
    exchange = _exchange_record(error, response)
    audit_record(action=Action.POMELO_EXCHANGE, actor=None, adjustment=adjustment,
                 from_state=adjustment.state, to_state=adjustment.state, data=exchange)
    if adjustment.state != State.SUBMITTING:
        return adjustment  # settled by another run meanwhile; the audit keeps this exchange
    adjustment.pomelo_request = exchange["request"]
    adjustment.pomelo_status_code = exchange["status_code"]
    adjustment.pomelo_response = exchange["response"]
    adjustment.completed_at = timezone.now()
    if error is None:
        adjustment.pomelo_reference = _reference(response.data)
        account = reward_account_lock(member=adjustment.member,
                                      account_type=adjustment.account_type)
        ledger_post(account=account, bucket=LedgerEntry.Bucket.AVAILABLE,
                    amount=adjustment.signed_amount, adjustment=adjustment,
                    description=f"manual {adjustment.direction} #{adjustment.pk}")
        account.save(update_fields=["pending_balance", "available_balance", "updated_at"])
        adjustment.failure_reason = ""
        _transition(adjustment, State.SUCCEEDED, actor=None, ip_address=None,
                    action=Action.ADJUSTMENT_SUCCEEDED,
                    data={"pomelo_reference": adjustment.pomelo_reference},
                    update_fields=["completed_at", "pomelo_reference", "failure_reason",
                                   *_EXCHANGE_FIELDS])
    else:
        # After a timeout or a cut connection Pomelo may have applied it: the only safe
        # next step is a retry under the same key, never a new request.
        prefix = ("Pomelo was unavailable after retries, so the outcome is unknown (it may "
                  "have been applied). Retry it: the same idempotency key prevents a second "
                  "effect. Do not file a new request. " if error.transient
                  else "Pomelo refused it: ")
        adjustment.failure_reason = f"{prefix}{error}"
        _transition(adjustment, State.FAILED, actor=None, ip_address=None,
                    action=Action.ADJUSTMENT_FAILED, comment=adjustment.failure_reason,
                    update_fields=["completed_at", "failure_reason", *_EXCHANGE_FIELDS])
    return adjustment


def _reference(data: dict) -> str:
    for key in ("id", "transaction_id", "movement_id", "reference", "operation_id"):
        value = data.get(key) if isinstance(data, dict) else None
        if value not in (None, ""):
            return str(value)[:200]
    return ""
