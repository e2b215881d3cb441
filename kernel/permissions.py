"""The permission names the code checks, one constant each, so a typo fails at import time and
a search finds every place a permission decides something.

The roles (`kernel/roles.py`) are built from these names too.
"""

# accounts
VIEW_MEMBER = "accounts.view_member"
CHANGE_MEMBER = "accounts.change_member"
VIEW_CARD = "accounts.view_card"
VIEW_REWARD_ACCOUNT = "accounts.view_rewardaccount"
VIEW_BALANCE_SNAPSHOT = "accounts.view_balancesnapshot"
CHECK_BALANCE = "accounts.check_balance"

# rewards
VIEW_REWARD_EVENT = "rewards.view_rewardevent"
EXPORT_REWARD_EVENT = "rewards.export_rewardevent"
VIEW_LEDGER_ENTRY = "rewards.view_ledgerentry"
EXPORT_LEDGER_ENTRY = "rewards.export_ledgerentry"
VIEW_ADJUSTMENT = "rewards.view_adjustment"
ADD_ADJUSTMENT = "rewards.add_adjustment"
APPROVE_ADJUSTMENT = "rewards.approve_adjustment"
RETRY_ADJUSTMENT = "rewards.retry_adjustment"
EXPORT_ADJUSTMENT = "rewards.export_adjustment"
VIEW_APPROVAL = "rewards.view_approval"
VIEW_AUDIT_ENTRY = "rewards.view_auditentry"
EXPORT_AUDIT_ENTRY = "rewards.export_auditentry"
VIEW_RECONCILIATION_RUN = "rewards.view_reconciliationrun"
VIEW_RECONCILIATION_RESULT = "rewards.view_reconciliationresult"
ADD_RECONCILIATION_RUN = "rewards.add_reconciliationrun"
VIEW_CHAIN_ANCHOR = "rewards.view_chainanchor"
VIEW_CHAIN_VERIFICATION = "rewards.view_chainverification"

# bulk adjustments
VIEW_BULK_BATCH = "bulk_adjustments.view_bulkbatch"
ADD_BULK_BATCH = "bulk_adjustments.add_bulkbatch"
APPROVE_BULK_BATCH = "bulk_adjustments.approve_bulkbatch"
RETRY_BULK_BATCH = "bulk_adjustments.retry_bulkbatch"
EXPORT_BULK_BATCH = "bulk_adjustments.export_bulkbatch"

# webhooks
VIEW_DELIVERY = "webhooks.view_delivery"
REPROCESS_DELIVERY = "webhooks.reprocess_delivery"

# staff accounts (Django's auth) and sign-in lockouts (django-axes)
VIEW_USER = "auth.view_user"
ADD_USER = "auth.add_user"
CHANGE_USER = "auth.change_user"
VIEW_GROUP = "auth.view_group"
VIEW_ACCESS_ATTEMPT = "axes.view_accessattempt"
DELETE_ACCESS_ATTEMPT = "axes.delete_accessattempt"
VIEW_ACCESS_LOG = "axes.view_accesslog"
