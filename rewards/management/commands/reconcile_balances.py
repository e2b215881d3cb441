import sys

from django.core.management.base import BaseCommand, CommandError

from kernel.errors import BackofficeError
from rewards.services.reconciliation import reconciliation_run


class Command(BaseCommand):
    help = "Compare every member's ledger balances with Pomelo's and record the drift."

    def add_arguments(self, parser):
        parser.add_argument("--concurrency", type=int, default=4,
                            help="Balance requests in flight at once (default 4).")

    def handle(self, *args, concurrency: int, **options):
        def progress(done: int, total: int) -> None:
            sys.stderr.write(f"\r{done}/{total} members checked")
            sys.stderr.flush()

        try:
            run = reconciliation_run(concurrency=concurrency, progress=progress)
        except BackofficeError as exc:
            raise CommandError(str(exc)) from exc
        sys.stderr.write("\n")
        self.stdout.write(
            f"reconciliation #{run.pk}: {run.members_checked} members, "
            f"{run.accounts_drifting} accounts drifting, {run.errors} errors, "
            f"{run.adjustments_unsettled} adjustments of unrecorded outcome"
        )
        for result in run.results.filter(drifting=True).select_related("member")[:50]:
            self.stdout.write(
                f"  {result.member.pomelo_user_id} {result.account_type}: "
                f"ledger {result.ledger_available} vs Pomelo {result.pomelo_available} "
                f"(difference {result.difference})" + (f" — {result.note}" if result.note else "")
            )
        for item in run.unsettled_adjustments:
            self.stdout.write(
                f"  adjustment #{item['id']} {item['state']}: {item['member']} "
                f"{item['account_type']} {item['signed_amount']} (key {item['idempotency_key']})"
            )
