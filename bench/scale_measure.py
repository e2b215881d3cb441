"""Server time and queries of the admin pages on one database, in process (Django's test Client).

bench/admin_scale.py starts one of these per database, with the app's environment
(DATABASE_URL and the rest) set, and drives them in turns over stdin/stdout:

    python -m bench.scale_measure

A timed request is the wall clock around `Client.get`, which runs the whole middleware stack,
the view and the template rendering; its statements are counted with CaptureQueriesContext. A
CSV export is consumed to the end: its time includes streaming every row, and its peak Python
memory is measured with tracemalloc in a separate request (tracemalloc slows what it traces).
"""

from __future__ import annotations

import gc
import json
import os
import sys
import time
import tracemalloc
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if sys.path and Path(sys.path[0] or ".").resolve() == ROOT / "bench":
    sys.path[0] = str(ROOT)


@dataclass(frozen=True)
class Page:
    key: str  # stable across databases, to pair the big and small figures
    label: str
    url: str
    user: str = "admin"  # "admin" (superuser) or "approver"
    export: bool = False
    extra: bool = False  # measured for information, not one of the targets


def probes() -> dict:
    """The ids the pages are measured on, chosen the same way on every database."""
    from django.db import connection

    with connection.cursor() as cursor:
        # The busiest member: the longest history, the worst case for the timeline.
        cursor.execute(
            "SELECT a.member_id FROM rewards_rewardevent e JOIN accounts_rewardaccount a "
            "ON a.id = e.account_id GROUP BY a.member_id ORDER BY count(*) DESC, a.member_id LIMIT 1"
        )
        busiest = cursor.fetchone()[0]
        cursor.execute("SELECT max(id) FROM accounts_member")
        (members,) = cursor.fetchone()
        cursor.execute("SELECT split_part(name, ' ', 2) FROM accounts_member WHERE id = %s", [members // 2])
        (last_name,) = cursor.fetchone()
        cursor.execute(
            "SELECT transaction_id FROM rewards_rewardevent WHERE id >= %s ORDER BY id LIMIT 1",
            [members // 2],
        )
        (transaction_id,) = cursor.fetchone()
        cursor.execute(
            "SELECT c.pomelo_card_id, c.last_four FROM accounts_card c WHERE c.member_id >= %s "
            "AND c.last_four <> '' ORDER BY c.member_id, c.id LIMIT 1",
            [members // 2],
        )
        card_id, last_four = cursor.fetchone()
        # A settled adjustment with the longest trail: two approvals, submitted, succeeded.
        cursor.execute(
            "SELECT id FROM rewards_adjustment WHERE state = 'succeeded' ORDER BY approvals_required "
            "DESC, id LIMIT 1"
        )
        adjustment = cursor.fetchone()[0]
        # A creation-date range holding about 1,000 adjustments (whole days: a few more), in
        # the middle of the history, for the small export.
        cursor.execute("SELECT count(*) FROM rewards_adjustment")
        (adjustments,) = cursor.fetchone()
        bounds = []
        for offset in (adjustments // 2, adjustments // 2 + 999):
            cursor.execute(
                "SELECT (created_at AT TIME ZONE 'UTC')::date FROM rewards_adjustment "
                "ORDER BY created_at, id OFFSET %s LIMIT 1",
                [offset],
            )
            row = cursor.fetchone()
            bounds.append(row[0].isoformat() if row else "")
    return {
        "busiest_member": busiest, "card_id": card_id, "last_four": last_four,
        "last_name": last_name, "transaction_id": transaction_id,
        "adjustment": adjustment, "export_from": bounds[0], "export_to": bounds[1],
        "adjustments": adjustments,
    }


def pages(found: dict) -> list[Page]:
    from django.contrib import admin
    from django.urls import reverse

    result = []
    for model in sorted(admin.site._registry, key=lambda m: m._meta.label):
        opts = model._meta
        url = reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")
        result.append(Page(f"list:{opts.label_lower}", f"{opts.label} list", url))
    members = reverse("admin:accounts_member_changelist")
    events = reverse("admin:rewards_rewardevent_changelist")
    adjustments = reverse("admin:rewards_adjustment_changelist")
    export = reverse("admin:rewards_adjustment_export")
    home = reverse("admin:index")
    result += [
        Page("home", "operations home: tiles and 30-day charts (superuser)", home),
        Page("home-approver", "operations home (approver)", home, user="approver"),
        Page("member-search-card", "member search by card id", f"{members}?q={found['card_id']}"),
        Page("member-search-last4", "member search by last four", f"{members}?q={found['last_four']}"),
        Page("member-page", "member page + timeline (busiest)",
             reverse("admin:accounts_member_change", args=[found["busiest_member"]])),
        Page("approval-queue", "approval queue (?queue=mine, approver)", f"{adjustments}?queue=mine",
             user="approver"),
        Page("adjustment-detail", "adjustment detail (2 approvals)",
             reverse("admin:rewards_adjustment_change", args=[found["adjustment"]])),
        Page("events-filtered", "reward events: pending points", f"{events}?state__exact=pending"
             "&account_type=points"),
        Page("member-search-name", "member search by last name",
             f"{members}?{urlencode({'q': found['last_name']})}", extra=True),
        Page("events-search-tx", "reward events: search by transaction id",
             f"{events}?q={found['transaction_id']}", extra=True),
        Page("export-1k", "CSV export, ~1,000 rows",
             f"{export}?created_at_from={found['export_from']}&created_at_to={found['export_to']}",
             export=True),
        Page("export-all", "CSV export, all adjustments", export, export=True),
    ]
    return result


def _listed_rows(content: bytes) -> int | None:
    """The rows of a changelist's result table (None for another page)."""
    start = content.find(b'id="result_list"')
    if start < 0:
        return None
    table = content[start : content.find(b"</table>", start)]
    return max(0, table.count(b"<tr") - 1)  # minus the header row


def _get(client, page: Page, started: float = 0.0):
    """GET the page; a streaming body is consumed to the end. Returns the response, its size,
    its rows (CSV lines, or a changelist's listed rows) and the seconds from `started` to the
    first chunk (streaming only)."""
    response = client.get(page.url)
    body, rows, first = 0, None, None
    if getattr(response, "streaming", False):
        rows = -1  # the header line
        for chunk in response.streaming_content:
            if first is None:
                first = time.perf_counter() - started
            body += len(chunk)
            rows += chunk.count(b"\n")
        response.close()
    else:
        body = len(response.content)
        rows = _listed_rows(response.content)
    return response, body, rows, first


class Worker:
    """Answers one command per line on stdin with one JSON line on stdout:

    `warm KEY` (an untimed request), `run KEY` (a timed request with its queries counted),
    `memory KEY` (a request under tracemalloc: its peak) and `quit`. The first line it writes
    lists the probes and the pages.
    """

    def __init__(self) -> None:
        from django.contrib.auth import get_user_model
        from django.test import Client

        from bench.scale_fill import QUEUE_APPROVER, SUPERUSER

        users = get_user_model().objects
        self.clients = {}
        for name, username in (("admin", SUPERUSER), ("approver", QUEUE_APPROVER)):
            client = Client()
            client.force_login(users.get(username=username))
            self.clients[name] = client
        self.probes = probes()
        self.pages = {page.key: page for page in pages(self.probes)}

    def hello(self) -> dict:
        return {"probes": self.probes, "pages": [asdict(page) for page in self.pages.values()]}

    def warm(self, page: Page) -> dict:
        response, *_ = _get(self.clients[page.user], page)
        ok = response.status_code == 200
        return {"status": response.status_code, "error": "" if ok else f"HTTP {response.status_code}"}

    def run(self, page: Page) -> dict:
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        gc.collect()  # every timed request starts from the same heap, as timeit's do
        with CaptureQueriesContext(connection) as captured:
            started = time.perf_counter()
            response, body, rows, first = _get(self.clients[page.user], page, started)
            elapsed = time.perf_counter() - started
        queries = captured.captured_queries
        return {
            "status": response.status_code, "ms": elapsed * 1000, "queries": len(queries),
            "sql_ms": sum(float(q["time"]) for q in queries) * 1000,
            "bytes": body, "rows": rows, "first_byte_ms": None if first is None else first * 1000,
        }

    def memory(self, page: Page) -> dict:
        tracemalloc.start()
        tracemalloc.reset_peak()
        try:
            _get(self.clients[page.user], page)
            return {"peak_memory_bytes": tracemalloc.get_traced_memory()[1]}
        finally:
            tracemalloc.stop()

    def answer(self, line: str) -> dict:
        command, _, key = line.strip().partition(" ")
        page = self.pages.get(key)
        handler = {"warm": self.warm, "run": self.run, "memory": self.memory}.get(command)
        if handler is None or page is None:
            return {"error": f"unknown command {line.strip()!r}"}
        try:
            return handler(page)
        except Exception as exc:  # reported for this page; the others are still measured
            return {"error": f"{type(exc).__name__}: {exc}"}


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings_bench")
    import django

    django.setup()
    protocol = sys.stdout
    sys.stdout = sys.stderr  # anything else printed must not break the protocol
    worker = Worker()
    protocol.write(json.dumps(worker.hello(), default=str) + "\n")
    protocol.flush()
    for line in sys.stdin:
        if line.strip() == "quit":
            break
        protocol.write(json.dumps(worker.answer(line), default=str) + "\n")
        protocol.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
