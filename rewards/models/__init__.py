from rewards.models.adjustments import Adjustment, Approval
from rewards.models.audit import AuditEntry
from rewards.models.chain import ChainAnchor, ChainAnchorHead, ChainHead, ChainVerification
from rewards.models.ledger import LedgerEntry, NotificationKind, RewardEvent
from rewards.models.maker_notifications import MakerNotification
from rewards.models.reconciliation import ReconciliationResult, ReconciliationRun

__all__ = [
    "Adjustment",
    "Approval",
    "AuditEntry",
    "ChainAnchor",
    "ChainAnchorHead",
    "ChainHead",
    "ChainVerification",
    "LedgerEntry",
    "MakerNotification",
    "NotificationKind",
    "ReconciliationResult",
    "ReconciliationRun",
    "RewardEvent",
]
