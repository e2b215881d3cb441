"""Reads of the rewards app, one module per topic; every public name is also importable from
here."""

from rewards.selectors.adjustments import (
    AdjustmentActions,
    AdjustmentTotal,
    BalanceEffect,
    OutcomeEvidence,
    adjustment_actions,
    adjustment_approvals,
    adjustment_balance_effect,
    adjustment_history,
    adjustment_outcome_evidence,
    adjustment_totals,
    adjustments_unsettled,
    adjustments_waiting_for,
    member_open_adjustments,
    member_recent_adjustments,
)
from rewards.selectors.exports import (
    adjustment_csv_rows,
    audit_csv_rows,
    ledger_csv_rows,
    reward_event_csv_rows,
)
from rewards.selectors.ledger import CENT, LedgerMismatch, ledger_mismatches
from rewards.selectors.search import POMELO_ID_MATCHES_LIMIT, PomeloIdMatches, pomelo_id_matches
from rewards.selectors.timeline import (
    ATTENTION_AUDIT_ACTIONS,
    NEEDS_ATTENTION_STATES,
    TIMELINE_AUDIT_ACTIONS,
    TimelineItem,
    member_timeline,
)

__all__ = [
    "ATTENTION_AUDIT_ACTIONS",
    "CENT",
    "NEEDS_ATTENTION_STATES",
    "POMELO_ID_MATCHES_LIMIT",
    "TIMELINE_AUDIT_ACTIONS",
    "AdjustmentActions",
    "AdjustmentTotal",
    "BalanceEffect",
    "LedgerMismatch",
    "OutcomeEvidence",
    "PomeloIdMatches",
    "TimelineItem",
    "adjustment_actions",
    "adjustment_approvals",
    "adjustment_balance_effect",
    "adjustment_csv_rows",
    "adjustment_history",
    "adjustment_outcome_evidence",
    "adjustment_totals",
    "adjustments_unsettled",
    "adjustments_waiting_for",
    "audit_csv_rows",
    "ledger_csv_rows",
    "ledger_mismatches",
    "member_open_adjustments",
    "member_recent_adjustments",
    "member_timeline",
    "pomelo_id_matches",
    "reward_event_csv_rows",
]
