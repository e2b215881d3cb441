from django.core.management.base import BaseCommand

from rewards.services.adjustments import adjustment_resume_overdue


class Command(BaseCommand):
    help = (
        "Resume submissions to Pomelo whose lease ran out (their worker died, or their attempt "
        "failed): sent again with the same idempotency key inside the idempotency window, "
        "handed to an approver as 'outcome unknown' past it."
    )

    def handle(self, *args, **options):
        outcomes = adjustment_resume_overdue()
        for adjustment_id, state in outcomes.items():
            self.stdout.write(f"  adjustment #{adjustment_id}: {state}")
        self.stdout.write(f"{len(outcomes)} overdue submission(s) handled")
