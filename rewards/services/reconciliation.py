"""Compare our ledger with Pomelo's balances. Drift is recorded and shown, never corrected."""

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.utils import timezone

from accounts.models import Member, RewardAccount
from loyalty_backoffice.pomelo import PomeloClient, PomeloError, balances_from_payload
from rewards.models import ReconciliationResult, ReconciliationRun

Progress = Callable[[int, int], None]
BATCH = 200


def _pomelo_balances(client: PomeloClient, user_id: str) -> tuple[dict[str, Decimal] | None, str]:
    try:
        response = client.balance(user_id=user_id)
    except PomeloError as exc:
        return None, str(exc)
    found = balances_from_payload(response.data, account_types=settings.POMELO_ACCOUNT_TYPES)
    if not found:
        return None, "Pomelo answered without a balance we could read"
    return found, ""


def _results_for(run, accounts: list[RewardAccount], pomelo, error: str) -> list:
    results = []
    for account in accounts:
        theirs = None if pomelo is None else pomelo.get(account.account_type, Decimal("0"))
        difference = None if theirs is None else account.available_balance - theirs
        results.append(ReconciliationResult(
            run=run, account=account, ledger_available=account.available_balance,
            pomelo_available=theirs, difference=difference,
            drifting=difference is not None and difference != 0, error=error,
        ))
    return results


def reconciliation_run(
    *,
    started_by: AbstractBaseUser | None = None,
    concurrency: int = 4,
    client: PomeloClient | None = None,
    progress: Progress | None = None,
) -> ReconciliationRun:
    """Ask Pomelo for every member's balance, `concurrency` requests at a time, and record one
    result per reward account. Threads only talk HTTP; this thread does all database work."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    client = client or PomeloClient.from_settings()
    run = ReconciliationRun.objects.create(started_by=started_by)
    member_ids = list(
        Member.objects.filter(reward_accounts__isnull=False).distinct().order_by("pk")
        .values_list("pk", flat=True)
    )
    done = 0
    try:
        with ThreadPoolExecutor(max_workers=concurrency) as pool:
            for start in range(0, len(member_ids), BATCH):
                members = list(Member.objects.filter(pk__in=member_ids[start:start + BATCH])
                               .prefetch_related("reward_accounts").order_by("pk"))
                answers = pool.map(lambda m: _pomelo_balances(client, m.pomelo_user_id), members)
                results = []
                for member, (pomelo, error) in zip(members, answers, strict=True):
                    results += _results_for(run, list(member.reward_accounts.all()), pomelo, error)
                with transaction.atomic():
                    ReconciliationResult.objects.bulk_create(results)
                run.members_checked += len(members)
                run.accounts_drifting += sum(r.drifting for r in results)
                run.errors += sum(bool(r.error) for r in results)
                run.save(update_fields=["members_checked", "accounts_drifting", "errors"])
                done += len(members)
                if progress:
                    progress(done, len(member_ids))
    except Exception:
        run.status, run.finished_at = ReconciliationRun.Status.FAILED, timezone.now()
        run.save(update_fields=["status", "finished_at"])
        raise
    run.status, run.finished_at = ReconciliationRun.Status.FINISHED, timezone.now()
    run.save(update_fields=["status", "finished_at"])
    return run
