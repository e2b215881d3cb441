"""The app's URLs plus the baseline the webhook intake is measured against: one INSERT a request.

It runs through the same middleware, gunicorn workers and database connections as the webhook
views; its table is created by the intake suite (bench.intake), which posts to /bench/baseline.
"""

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from loyalty_backoffice.urls import urlpatterns as app_urlpatterns


@transaction.non_atomic_requests
@csrf_exempt
@require_POST
def baseline_receive(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO bench_baseline (body, received_at) VALUES (%s, now()) RETURNING id",
            [request.body.decode("utf-8", errors="replace")],
        )
        (row_id,) = cursor.fetchone()
    return JsonResponse({"status": "stored", "id": row_id})


urlpatterns = [*app_urlpatterns, path("bench/baseline", baseline_receive)]
