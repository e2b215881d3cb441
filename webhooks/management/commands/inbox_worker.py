import signal
import threading
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from webhooks.inbox_worker import inbox_work


class Command(BaseCommand):
    help = ("Apply received webhook deliveries in batches until stopped (SIGTERM or SIGINT "
            "finish the current batch). Run as many as you like, on any machine.")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=settings.WEBHOOK_APPLY_BATCH_SIZE)
        parser.add_argument("--poll-seconds", type=float, default=settings.WEBHOOK_APPLY_POLL_SECONDS)
        parser.add_argument("--until-empty", action="store_true",
                            help="Exit once no delivery is due instead of waiting for more.")
        parser.add_argument("--max-batches", type=int, default=None,
                            help="Exit after this many batches (benchmarks, one-off runs).")

    def handle(self, *args, batch_size: int, poll_seconds: float, until_empty: bool,
               max_batches: int | None, **options):
        stop = threading.Event()
        if threading.current_thread() is threading.main_thread():
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stop.set())
        started = time.perf_counter()
        claimed = inbox_work(stop=stop, batch_size=max(1, batch_size), poll_seconds=poll_seconds,
                             until_empty=until_empty, max_batches=max_batches)
        self.stdout.write(f"applied {claimed} deliveries in {time.perf_counter() - started:.3f} s")
