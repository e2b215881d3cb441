"""Production settings queue tasks for a worker; the lease and window settings are checked."""

import os
import subprocess
import sys

import pytest
from django.conf import settings as django_settings

from rewards.checks import adjustment_submission_check

PRINT_BACKEND = (
    "import django; django.setup(); from django.conf import settings; "
    "print(settings.TASKS['default']['BACKEND'])"
)


def _settings_subprocess(**env) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items()
             if k not in {"DEBUG", "TASKS_BACKEND", "ADJUSTMENT_SUBMISSION_LEASE_SECONDS",
                          "ADJUSTMENT_IDEMPOTENCY_WINDOW_SECONDS"}}
    return subprocess.run(  # noqa: S603 - a fixed command
        [sys.executable, "-c", PRINT_BACKEND],
        env={**clean, "DJANGO_SETTINGS_MODULE": "loyalty_backoffice.settings", **env},
        cwd=django_settings.BASE_DIR, capture_output=True, text=True, timeout=60, check=False,
    )


@pytest.mark.parametrize(("debug", "backend"), [
    ("false", "django_tasks_db.DatabaseBackend"),  # production: no request waits on Pomelo
    ("true", "django_tasks.backends.immediate.ImmediateBackend"),  # `make run`
])
def test_the_task_backend_follows_debug(debug, backend):
    result = _settings_subprocess(DEBUG=debug)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == backend


def test_a_lease_as_long_as_the_idempotency_window_is_refused():
    result = _settings_subprocess(ADJUSTMENT_SUBMISSION_LEASE_SECONDS="180",
                                  ADJUSTMENT_IDEMPOTENCY_WINDOW_SECONDS="180")
    assert result.returncode != 0
    assert "ADJUSTMENT_SUBMISSION_LEASE_SECONDS must be positive and shorter than" in result.stderr


def test_deploy_check_warns_about_in_process_tasks_and_a_short_lease(settings):
    settings.DEBUG = False
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}
    settings.ADJUSTMENT_SUBMISSION_LEASE_SECONDS = 30
    assert {w.id for w in adjustment_submission_check()} == {"rewards.W001", "rewards.W002"}
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    settings.ADJUSTMENT_SUBMISSION_LEASE_SECONDS = 90
    assert adjustment_submission_check() == []
