"""Background work for the hash chains: the daily anchor for the scheduler, and the anchor of
each finance export (a scan of every account's ledger head, too slow for the export's own
request on a big ledger)."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django_tasks import task

from kernel.tasks import task_enqueue_in_transaction
from rewards.models import ChainAnchor
from rewards.services.chain import chain_anchor_take


@task()
def chain_anchor_daily_task() -> int:
    """The daily anchor of the audit and ledger chain heads; returns the anchor's id."""
    return chain_anchor_take(reason=ChainAnchor.Reason.DAILY).pk


@task()
def chain_anchor_export_task(*, actor_id: int | None, note: str) -> int:
    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    return chain_anchor_take(reason=ChainAnchor.Reason.EXPORT, actor=actor, note=note).pk


def chain_anchor_after_export(*, actor: AbstractBaseUser | None, note: str) -> None:
    """Queue the anchor of a finance export. The database backend writes the task in the
    export's transaction, so the anchor cannot be lost once the export is audited; other
    backends (in-process, for development and tests) run it after the commit."""
    kwargs = {"actor_id": actor.pk if actor is not None and actor.is_authenticated else None,
              "note": note}
    task_enqueue_in_transaction(chain_anchor_export_task, **kwargs)
