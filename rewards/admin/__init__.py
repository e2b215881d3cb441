"""The rewards admin: ledger, adjustments (maker-checker), audit trail, reconciliation.

Each module registers its model admins when imported; admin autodiscovery imports this one.
"""

from rewards.admin import adjustments, audit, chain, ledger, reconciliation

__all__ = ["adjustments", "audit", "chain", "ledger", "reconciliation"]
