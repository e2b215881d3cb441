import sys

from django.core.management.base import BaseCommand

from rewards.selectors import ledger_mismatches


class Command(BaseCommand):
    help = "Verify that every reward account bucket equals the sum of its ledger entries."

    def handle(self, *args, **options):
        mismatches = ledger_mismatches()
        for m in mismatches:
            self.stderr.write(
                f"MISMATCH account={m.account.pk} member={m.account.member.pomelo_user_id} "
                f"type={m.account.account_type} bucket={m.bucket} balance={m.balance} "
                f"entries={m.entries_total} difference={m.difference}"
            )
        if mismatches:
            self.stderr.write(self.style.ERROR(f"{len(mismatches)} bucket(s) out of balance"))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("ledger OK: every bucket equals its entries"))
