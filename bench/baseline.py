"""The baseline the webhook intake is measured against: one INSERT per request, nothing else.

It runs through the same middleware, the same gunicorn workers and the same database
connections (CONN_MAX_AGE) as the webhook views; the table is created by bench/webhooks.py.
"""

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

TABLE = "bench_baseline"
CREATE_TABLE_SQL = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    "id bigserial PRIMARY KEY, body text NOT NULL, received_at timestamptz NOT NULL DEFAULT now())"
)


@transaction.non_atomic_requests
@csrf_exempt
@require_POST
def baseline_receive(request: HttpRequest) -> JsonResponse:
    body = request.body.decode("utf-8", errors="replace")
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {TABLE} (body, received_at) VALUES (%s, now()) RETURNING id",  # noqa: S608
            [body],
        )
        (row_id,) = cursor.fetchone()
    return JsonResponse({"status": "stored", "id": row_id})
