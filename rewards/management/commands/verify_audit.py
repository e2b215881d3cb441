import sys

from django.core.management.base import BaseCommand

from rewards.services.chain import chain_verification_run


class Command(BaseCommand):
    help = (
        "Verify the audit chain and every reward account's ledger chain against their hashes "
        "and the anchors. Exits 1 at a broken link (entry, expected and found hash), 0 when "
        "sound. Each run is recorded; a failed one is audited."
    )

    def handle(self, *args, **options):
        verification, report = chain_verification_run()
        total = report.audit_entries + report.ledger_entries
        self.stdout.write(
            f"checked {report.audit_entries} audit entries, {report.ledger_entries} ledger "
            f"entries in {report.ledger_accounts} accounts, {report.anchors_checked} anchors "
            f"in {report.seconds:.2f} s ({total / max(report.seconds, 1e-9):,.0f} entries/s); "
            f"verification #{verification.pk}"
        )
        if not report.sound:
            for problem in report.problems:
                self.stderr.write(f"BROKEN {problem}")
            self.stderr.write(self.style.ERROR(
                f"{len(report.problems)} broken link(s): the audit trail or the ledger was "
                "changed outside the application"
            ))
            sys.exit(1)
        self.stdout.write(self.style.SUCCESS("chains sound: every link and anchor holds"))
