"""The inbox worker's loop: apply batches while there is work, then wait for more.

On PostgreSQL a trigger on the deliveries table sends NOTIFY webhook_inbox on every INSERT;
the worker LISTENs on a connection of its own and wakes at once. Polling every
WEBHOOK_APPLY_POLL_SECONDS covers what a notification cannot: retries that come due, a
notification sent while the listening connection was down, other databases.
"""

import logging
import threading
import time

from django.db import DatabaseError, connection

from webhooks.inbox import inbox_batch_apply

logger = logging.getLogger(__name__)

CHANNEL = "webhook_inbox"


class InboxWaker:
    """Waits for a delivery to arrive: LISTEN/NOTIFY on PostgreSQL, a plain wait elsewhere."""

    def __init__(self, stop: threading.Event):
        self.stop = stop
        self.listener = None

    def listen(self) -> None:
        """Start listening (again); a delivery stored from now on wakes `wait`."""
        if self.listener is not None or connection.vendor != "postgresql":
            return
        try:
            listener = connection.get_new_connection(connection.get_connection_params())
            listener.autocommit = True
            listener.execute(f"LISTEN {CHANNEL}")
        except Exception:
            logger.exception("cannot LISTEN for deliveries; polling only")
            return
        self.listener = listener

    def wait(self, seconds: float) -> bool:
        """Until a delivery arrives (True), `seconds` pass or the worker is stopped (False)."""
        self.listen()
        if self.listener is None:
            self.stop.wait(seconds)
            return False
        deadline = time.monotonic() + seconds
        try:
            # In slices of a second at most, so a stop request is seen soon.
            while not self.stop.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                if any(True for _ in self.listener.notifies(timeout=min(left, 1.0), stop_after=1)):
                    # Every INSERT notifies: take the ones already queued along with this one.
                    for _ in self.listener.notifies(timeout=0.01):
                        pass
                    return True
            return False
        except Exception:
            logger.exception("the listening connection failed; polling until it is back")
            self.close()
            self.stop.wait(seconds)
            return False

    def close(self) -> None:
        if self.listener is not None:
            try:
                self.listener.close()
            finally:
                self.listener = None


def inbox_work(
    *, stop: threading.Event, batch_size: int, poll_seconds: float, until_empty: bool = False,
    max_batches: int | None = None,
) -> int:
    """Apply batches until `stop` is set (or, `until_empty`, until nothing is due, or after
    `max_batches`); return how many deliveries were claimed."""
    if connection.in_atomic_block:
        raise RuntimeError("the inbox worker commits batch by batch: call it outside a transaction")
    waker = InboxWaker(stop)
    # Listen before the first look at the queue: a delivery stored after that look wakes us.
    waker.listen()
    claimed = batches = 0
    try:
        while not stop.is_set() and (max_batches is None or batches < max_batches):
            try:
                report = inbox_batch_apply(limit=batch_size)
            except DatabaseError:
                # The database went away: the batch rolled back and stays received.
                logger.exception("inbox batch failed; retrying after %s s", poll_seconds)
                connection.close()
                stop.wait(poll_seconds)
                continue
            claimed += report.claimed
            batches += 1
            if report.claimed:
                logger.info("inbox batch: %s", report)
            if report.claimed >= batch_size:
                continue
            if until_empty:
                break
            waker.wait(poll_seconds)
    finally:
        waker.close()
    return claimed
