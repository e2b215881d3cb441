"""Server time, queries and memory of admin pages on one database, in process (Django's Client).

bench.admin_scale starts one of these per database with the app's environment and drives them in
turns, one JSON line each way: `warm URL_KEY`, `run KEY` (timed, queries counted), `memory KEY`
(peak Python memory by tracemalloc, in a request of its own since tracemalloc slows what it
traces) and `quit`. A streamed response (the CSV export) is consumed to the end.

To time another page, add it to `pages()` or pass `--url PATH` to bench.admin_scale.
"""

import gc
import json
import os
import sys
import time
import tracemalloc
from urllib.parse import urlencode

PROBES_SQL = {
    # The busiest member: the longest history, the worst case for the timeline.
    "busiest_member": "SELECT a.member_id FROM rewards_rewardevent e JOIN accounts_rewardaccount a "
                      "ON a.id = e.account_id GROUP BY a.member_id "
                      "ORDER BY count(*) DESC, a.member_id LIMIT 1",
    "card": "SELECT c.pomelo_card_id, c.last_four FROM accounts_card c WHERE c.last_four <> '' "
            "AND c.member_id >= (SELECT max(id) / 2 FROM accounts_member) ORDER BY c.member_id, c.id LIMIT 1",
    "last_name": "SELECT split_part(name, ' ', 2) FROM accounts_member "
                 "WHERE id >= (SELECT max(id) / 2 FROM accounts_member) ORDER BY id LIMIT 1",
    "transaction_id": "SELECT transaction_id FROM rewards_rewardevent "
                      "WHERE id >= (SELECT max(id) / 2 FROM rewards_rewardevent) ORDER BY id LIMIT 1",
    # A settled adjustment with the longest trail: two approvals, submitted, succeeded.
    "adjustment": "SELECT id FROM rewards_adjustment WHERE state = 'succeeded' "
                  "ORDER BY approvals_required DESC, id LIMIT 1",
    # Whole days in the middle of the history holding about 1,000 adjustments, for a small export.
    "export_days": "SELECT min(d)::text, max(d)::text FROM (SELECT (created_at AT TIME ZONE 'UTC')::date d "
                   "FROM rewards_adjustment ORDER BY created_at, id OFFSET "
                   "(SELECT count(*) / 2 FROM rewards_adjustment) LIMIT 1000) s",
}


def probes() -> dict:
    """The ids the pages are measured on, chosen the same way on every database."""
    from django.db import connection

    found = {}
    with connection.cursor() as cursor:
        for name, query in PROBES_SQL.items():
            cursor.execute(query)
            row = cursor.fetchone() or (None,)
            found[name] = row if len(row) > 1 else row[0]
    return found


def pages(found: dict, extra_urls: list[str]) -> list[dict]:
    """Every admin list, then the pages the targets name. `user`: admin (superuser) or approver;
    `judged`: measured against the targets (else for information)."""
    from django.contrib import admin
    from django.urls import reverse

    def page(key, label, url, user="admin", judged=True, export=False):
        return {"key": key, "label": label, "url": url, "user": user, "judged": judged, "export": export}

    result = [
        page(f"list:{m._meta.label_lower}", f"{m._meta.label} list",
             reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist"))
        for m in sorted(admin.site._registry, key=lambda m: m._meta.label)
    ]
    members = reverse("admin:accounts_member_changelist")
    events = reverse("admin:rewards_rewardevent_changelist")
    export = reverse("admin:rewards_adjustment_export")
    card_id, last_four = found["card"]
    first_day, last_day = found["export_days"]
    home = reverse("admin:index")
    result += [
        page("home", "operations home: tiles and 30-day charts (superuser)", home),
        page("home-approver", "operations home (approver)", home, user="approver"),
        page("member-search-card", "member search by card id", f"{members}?q={card_id}"),
        page("member-search-last4", "member search by last four", f"{members}?q={last_four}"),
        page("member-page", "member page + timeline (busiest)",
             reverse("admin:accounts_member_change", args=[found["busiest_member"]])),
        page("approval-queue", "approval queue (approver)",
             reverse("admin:rewards_adjustment_changelist") + "?queue=mine", user="approver"),
        page("adjustment-detail", "adjustment page (2 approvals)",
             reverse("admin:rewards_adjustment_change", args=[found["adjustment"]])),
        page("events-filtered", "reward events: pending points",
             f"{events}?state__exact=pending&account_type=points"),
        page("member-search-name", "member search by last name",
             f"{members}?{urlencode({'q': found['last_name']})}", judged=False),
        page("events-search-tx", "reward events: search by transaction",
             f"{events}?q={found['transaction_id']}", judged=False),
        page("export-1k", "CSV export, ~1,000 rows",
             f"{export}?created_at_from={first_day}&created_at_to={last_day}", export=True),
        page("export-all", "CSV export, all adjustments", export, export=True),
    ]
    return result + [page(f"url:{url}", url, url) for url in extra_urls]


def _get(client, url: str, started: float):
    """GET and consume the body: (response, bytes, rows listed or CSV lines, first byte seconds)."""
    response = client.get(url)
    if not getattr(response, "streaming", False):
        content = response.content
        start = content.find(b'id="result_list"')
        table = content[start: content.find(b"</table>", start)]
        rows = None if start < 0 else max(0, table.count(b"<tr") - 1)  # minus the header row
        return response, len(content), rows, None
    size, rows, first = 0, -1, None  # -1: the header line
    for chunk in response.streaming_content:
        first = first if first is not None else time.perf_counter() - started
        size += len(chunk)
        rows += chunk.count(b"\n")
    response.close()
    return response, size, rows, first


def main() -> int:
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from bench.scale_fill import QUEUE_APPROVER, SUPERUSER

    protocol, sys.stdout = sys.stdout, sys.stderr  # anything else printed must not break the protocol
    clients = {}
    for user, username in (("admin", SUPERUSER), ("approver", QUEUE_APPROVER)):
        clients[user] = Client()
        clients[user].force_login(get_user_model().objects.get(username=username))
    found = probes()
    by_key = {p["key"]: p for p in pages(found, json.loads(os.environ.get("BENCH_EXTRA_URLS", "[]")))}
    protocol.write(json.dumps({"probes": found, "pages": list(by_key.values())}, default=str) + "\n")
    protocol.flush()
    for line in sys.stdin:
        command, _, key = line.strip().partition(" ")
        if command == "quit":
            break
        page = by_key[key]
        client = clients[page["user"]]
        try:
            if command == "memory":
                tracemalloc.start()
                _get(client, page["url"], 0.0)
                answer = {"peak_memory": tracemalloc.get_traced_memory()[1]}
                tracemalloc.stop()
            else:
                gc.collect()  # every timed request starts from the same heap, as timeit's do
                with CaptureQueriesContext(connection) as captured:
                    started = time.perf_counter()
                    response, size, rows, first = _get(client, page["url"], started)
                    elapsed = time.perf_counter() - started
                answer = {
                    "error": "" if response.status_code == 200 else f"HTTP {response.status_code}",
                    "ms": elapsed * 1000, "queries": len(captured.captured_queries),
                    "sql_ms": sum(float(q["time"]) for q in captured.captured_queries) * 1000,
                    "bytes": size, "rows": rows, "first_byte_ms": None if first is None else first * 1000,
                }
        except Exception as exc:  # reported for this page; the others are still measured
            answer = {"error": f"{type(exc).__name__}: {exc}"}
        protocol.write(json.dumps(answer) + "\n")
        protocol.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
