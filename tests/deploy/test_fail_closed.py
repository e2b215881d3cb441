"""With DEBUG off, a setting a deployment must give stops startup, naming it."""

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from tests.deploy.production_env import ROOT, production_environ, settings_load


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        ({"DATABASE_URL": None}, "DATABASE_URL is not set"),
        ({"ALLOWED_HOSTS": None}, "ALLOWED_HOSTS is not set"),
        ({"CSRF_TRUSTED_ORIGINS": None}, "CSRF_TRUSTED_ORIGINS is not set"),
        ({"CSRF_TRUSTED_ORIGINS": ""}, "CSRF_TRUSTED_ORIGINS is not set"),
        ({"TASKS_BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}, "TASKS_BACKEND is"),
    ],
)
def test_a_missing_deployment_setting_is_refused(monkeypatch, overrides, named):
    with pytest.raises(ImproperlyConfigured) as raised:
        settings_load(monkeypatch, **overrides)
    assert named in str(raised.value)


def test_without_tasks_backend_production_queues_in_the_database(monkeypatch):
    loaded = settings_load(monkeypatch, TASKS_BACKEND=None)
    assert loaded["TASKS"]["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend"


def test_the_production_environment_loads_with_json_logs_and_health_checks(monkeypatch):
    loaded = settings_load(monkeypatch, LOG_FORMAT=None)
    assert loaded["LOG_FORMAT"] == "json"
    assert loaded["DATABASES"]["default"]["CONN_HEALTH_CHECKS"] is True
    storage = loaded["STORAGES"]["staticfiles"]["BACKEND"]
    assert storage == "whitenoise.storage.CompressedManifestStaticFilesStorage"


def test_static_root_is_a_setting(monkeypatch, tmp_path):
    assert settings_load(monkeypatch, STATIC_ROOT=str(tmp_path))["STATIC_ROOT"] == tmp_path


def test_a_bad_scheduler_timetable_is_refused(monkeypatch):
    with pytest.raises(ImproperlyConfigured, match="SCHEDULER_INTERVALS"):
        settings_load(monkeypatch, SCHEDULER_INTERVALS='{"reconcilation": 60}')


def test_manage_py_without_database_url_refuses_to_start_and_names_it():
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env=production_environ(DATABASE_URL=None, CSRF_TRUSTED_ORIGINS=None),
    )
    assert result.returncode != 0
    assert "Refusing to start with DEBUG off" in result.stderr
    assert "DATABASE_URL is not set" in result.stderr
    assert "CSRF_TRUSTED_ORIGINS is not set" in result.stderr
