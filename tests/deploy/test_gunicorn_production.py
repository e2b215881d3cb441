"""The production server as the README runs it: gunicorn with DEBUG off and deploy/gunicorn.conf.py."""

import json
import re
import time

import pytest
import requests

from ops.heartbeat import worker_heartbeat_record
from tests.deploy.gunicorn_server import (
    collectstatic,
    gunicorn_server,
    shared_database_url,
    unreachable_database_url,
)

pytestmark = pytest.mark.django_db(transaction=True)
POD_HOST = "10.12.0.7:8000"


@pytest.fixture(scope="module")
def static_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("static")
    collectstatic(root)
    return root


@pytest.fixture(scope="module")
def server(static_root, tmp_path_factory, django_db_setup, django_db_blocker):
    """One server for the module: it reads the test database, which each test leaves empty."""
    with django_db_blocker.unblock():
        database_url = shared_database_url()
    with gunicorn_server(static_root=static_root, database_url=database_url,
                         log=tmp_path_factory.mktemp("gunicorn") / "gunicorn.log") as server:
        yield server


def test_the_admin_css_is_served_with_hashed_compressed_names(server):
    page = requests.get(server.url + "/admin/login/", timeout=10)
    assert page.status_code == 200
    # The theme's stylesheets, each under a hashed name, served compressed and cached for good.
    stylesheets = re.findall(r'href="(/static/[^"]+\.[0-9a-f]{12}\.css)"', page.text)
    assert any("/unfold/" in href for href in stylesheets), stylesheets
    sizes = []
    for css in stylesheets:
        response = requests.get(server.url + css, headers={"Accept-Encoding": "gzip"}, timeout=10)
        assert response.status_code == 200, css
        assert response.headers["Content-Type"].startswith("text/css")
        assert response.headers["Content-Encoding"] == "gzip"
        assert "immutable" in response.headers["Cache-Control"]
        sizes.append(len(response.text))
    assert max(sizes) > 10_000  # the theme itself, not only its font declarations


def test_probes_answer_an_ip_host_with_json_and_metrics_expose_our_gauges(server):
    worker_heartbeat_record(name="worker")
    health = requests.get(server.url + "/healthz", headers={"Host": POD_HOST}, timeout=10)
    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    ready = requests.get(server.url + "/readyz", headers={"Host": POD_HOST}, timeout=10)
    assert ready.status_code == 200, ready.text
    assert ready.json()["status"] == "ok"
    metrics = requests.get(server.url + "/metrics", headers={"Host": POD_HOST}, timeout=10)
    assert metrics.status_code == 200
    assert 'loyalty_webhook_deliveries{outcome="processed"}' in metrics.text
    assert 'loyalty_adjustments{state="pending_approval"}' in metrics.text
    assert "loyalty_worker_heartbeat_age_seconds" in metrics.text


def test_the_access_log_is_json_with_the_request_id(server):
    response = requests.get(server.url + "/admin/login/", headers={"X-Request-ID": "probe-42"}, timeout=10)
    assert response.headers["X-Request-ID"] == "probe-42"
    # gunicorn writes the line once the response is sent: it may come a moment after.
    for _ in range(100):
        access = [json.loads(line) for line in server.log_lines() if '"gunicorn.access"' in line]
        found = [entry for entry in access if entry["request_id"] == "probe-42"]
        if found:
            break
        time.sleep(0.05)
    [line] = found
    assert (line["path"], line["status"]) == ("/admin/login/", 200)


def test_readyz_answers_503_when_the_database_is_gone(static_root, tmp_path):
    with gunicorn_server(static_root=static_root, database_url=unreachable_database_url(),
                         log=tmp_path / "gunicorn.log") as server:
        health = requests.get(server.url + "/healthz", headers={"Host": POD_HOST}, timeout=10)
        assert health.status_code == 200
        ready = requests.get(server.url + "/readyz", headers={"Host": POD_HOST}, timeout=30)
        assert ready.status_code == 503
        checks = ready.json()["checks"]
        assert checks["database"].startswith("database unreachable")
        assert checks["migrations"] == "skipped: database unreachable"
        app_lines = [json.loads(line) for line in server.log_lines()
                     if line.startswith("{") and '"gunicorn.access"' not in line]
        # Logged as a warning on one line, never as an error with a traceback.
        assert not [line for line in app_lines if line.get("level") in ("ERROR", "CRITICAL")]
        assert [line for line in app_lines if line.get("logger") == "ops.probes"]
