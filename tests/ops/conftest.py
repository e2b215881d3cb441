import pytest


@pytest.fixture
def database_tasks(settings):
    """Tasks queued in the database, as in production, for a worker to run."""
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}


@pytest.fixture
def quiet_jobs(settings):
    """The timetable without reconciliation (which would call Pomelo)."""
    settings.SCHEDULER_INTERVALS = {"heartbeat": 60, "submission_sweep": 60, "adjustment_expiry": 900,
                                    "reconciliation": 0, "retention": 86400}
    return ["adjustment_expiry", "heartbeat", "retention", "submission_sweep"]
