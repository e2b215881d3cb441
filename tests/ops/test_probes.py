"""/healthz, /readyz and /metrics through Django's full middleware stack."""

import logging
from datetime import timedelta

import pytest
from django.utils import timezone

from ops.heartbeat import worker_heartbeat_record
from ops.models import WorkerHeartbeat

pytestmark = pytest.mark.django_db

# A probe from a load balancer or Kubernetes: the pod's IP as Host, which ALLOWED_HOSTS lacks.
POD_HOST = "10.12.0.7:8000"


def test_healthz_answers_any_host_with_json(client):
    response = client.get("/healthz", HTTP_HOST=POD_HOST)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_does_not_redirect_to_https(client, settings):
    settings.SECURE_SSL_REDIRECT = True
    response = client.get("/healthz", HTTP_HOST=POD_HOST)
    assert response.status_code == 200


def test_other_paths_still_refuse_an_unknown_host(client):
    assert client.get("/admin/login/", HTTP_HOST=POD_HOST).status_code == 400


def test_readyz_is_ready_with_database_cache_migrations_and_a_recent_heartbeat(client):
    worker_heartbeat_record(name="worker")
    response = client.get("/readyz", HTTP_HOST=POD_HOST)
    assert response.status_code == 200, response.content
    assert response.json() == {"status": "ok", "checks": {
        "database": "ok", "cache": "ok", "migrations": "ok", "worker": "ok"}}


def test_readyz_is_unavailable_without_a_worker_and_says_why(client, caplog):
    with caplog.at_level(logging.INFO):
        response = client.get("/readyz", HTTP_HOST=POD_HOST)
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert "no worker" in body["checks"]["worker"]
    assert body["checks"]["database"] == "ok"
    # An unready instance is what probes are for: a warning, never an error with a traceback.
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_readyz_is_unavailable_when_the_heartbeat_is_stale(client, settings):
    settings.READYZ_WORKER_HEARTBEAT_MAX_AGE_SECONDS = 120
    WorkerHeartbeat.objects.create(name="worker", beat_at=timezone.now() - timedelta(seconds=300))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert "300 s ago" in response.json()["checks"]["worker"]


def test_readyz_can_leave_the_worker_out(client, settings):
    settings.READYZ_WORKER_HEARTBEAT_MAX_AGE_SECONDS = 0
    assert client.get("/readyz").status_code == 200


def test_metrics_from_an_allowed_address_expose_our_gauges(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    worker_heartbeat_record(name="worker")
    response = client.get("/metrics", HTTP_HOST=POD_HOST, REMOTE_ADDR="10.1.2.3")
    assert response.status_code == 200
    text = response.content.decode()
    assert 'loyalty_webhook_deliveries{outcome="processed"} 0.0' in text
    assert "loyalty_webhook_inbox_lag_seconds 0.0" in text
    assert 'loyalty_adjustments{state="submitting"} 0.0' in text
    assert "loyalty_worker_heartbeat_age_seconds" in text
    assert "loyalty_pomelo_calls_total" in text or "loyalty_pomelo_call_seconds" in text


def test_metrics_refuse_other_addresses_and_ignore_forwarded_headers(client, settings):
    settings.METRICS_ALLOWED_IPS = ["10.0.0.0/8"]
    response = client.get("/metrics", REMOTE_ADDR="203.0.113.9", HTTP_X_FORWARDED_FOR="10.1.2.3")
    assert response.status_code == 403
    assert response.json() == {"error": "not allowed from this address"}
