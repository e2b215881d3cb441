from django.apps import AppConfig


class OpsConfig(AppConfig):
    """Production concerns: probes, metrics, logs, the scheduler and retention."""

    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        # Counting Pomelo calls hangs on the client's signal: the client never imports us.
        from ops import metrics

        metrics.pomelo_calls_connect()
