"""Background work for the hash chains, for the scheduler."""

from django_tasks import task

from rewards.models import ChainAnchor
from rewards.services.chain import chain_anchor_take


@task()
def chain_anchor_daily_task() -> int:
    """The daily anchor of the audit and ledger chain heads; returns the anchor's id."""
    return chain_anchor_take(reason=ChainAnchor.Reason.DAILY).pk
