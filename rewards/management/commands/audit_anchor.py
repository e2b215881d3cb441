from django.core.management.base import BaseCommand

from rewards.models import ChainAnchor
from rewards.services.chain import chain_anchor_take


class Command(BaseCommand):
    help = "Record the current heads of the audit and ledger chains (the daily anchor)."

    def add_arguments(self, parser):
        parser.add_argument("--note", default="", help="Kept with the anchor.")
        parser.add_argument(
            "--reason", default=ChainAnchor.Reason.DAILY, choices=ChainAnchor.Reason.values,
        )

    def handle(self, *args, note: str, reason: str, **options):
        anchor = chain_anchor_take(reason=reason, note=note)
        self.stdout.write(
            f"anchor #{anchor.pk} at {anchor.created_at:%Y-%m-%d %H:%M:%S} UTC: digest "
            f"{anchor.digest}; audit head #{anchor.audit_entry_id} {anchor.audit_hash} "
            f"({anchor.audit_length} entries); {anchor.ledger_accounts} account heads, "
            f"{anchor.ledger_heads_recorded} new since the last anchor"
        )
