"""Prometheus metrics at /metrics.

Two kinds:
- read from the database at each scrape (deliveries by outcome, inbox lag, adjustments by
  state, the last reconciliation's drift, the worker's heartbeat): the same answer from every
  process, whichever one Prometheus reaches;
- counted in the process that does the work (Pomelo calls by outcome and latency). Those run in
  the worker, not in the web process that answers the scrape: set PROMETHEUS_MULTIPROC_DIR to a
  directory every process on the host shares, and the scrape adds them all up.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

from django.db.models import Count, Min
from django.utils import timezone
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector

POMELO_CALLS = Counter(
    "loyalty_pomelo_calls_total", "HTTP attempts to Pomelo, by method and outcome",
    ["method", "outcome"],
)
POMELO_CALL_SECONDS = Histogram(
    "loyalty_pomelo_call_seconds", "Time an HTTP attempt to Pomelo took, by method",
    ["method"], buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)


def _pomelo_call_record(sender, *, method: str, outcome: str, seconds: float, **kwargs) -> None:
    POMELO_CALLS.labels(method=method, outcome=outcome).inc()
    POMELO_CALL_SECONDS.labels(method=method).observe(seconds)


def pomelo_calls_connect() -> None:
    from pomelo.client import call_finished

    call_finished.connect(_pomelo_call_record, dispatch_uid="ops.metrics.pomelo_calls")


class BackOfficeCollector(Collector):
    """State read from the database at scrape time. Each query reads an index or a handful of
    rows; none scans the ledger."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from ops.heartbeat import worker_heartbeat_age_seconds
        from rewards.models import Adjustment, ReconciliationRun
        from webhooks.models import Delivery

        deliveries = GaugeMetricFamily(
            "loyalty_webhook_deliveries", "Stored webhook deliveries, by outcome", labels=["outcome"])
        counts = dict(Delivery.objects.order_by().values_list("outcome").annotate(n=Count("pk")))
        for outcome in Delivery.Outcome.values:
            deliveries.add_metric([outcome], counts.get(outcome, 0))
        yield deliveries

        oldest = Delivery.objects.filter(outcome=Delivery.Outcome.RECEIVED).aggregate(
            oldest=Min("received_at"))["oldest"]
        yield GaugeMetricFamily(
            "loyalty_webhook_inbox_lag_seconds",
            "Age of the oldest delivery stored but not yet processed (0 when none waits)",
            value=(timezone.now() - oldest).total_seconds() if oldest else 0.0,
        )

        adjustments = GaugeMetricFamily(
            "loyalty_adjustments", "Adjustments, by state", labels=["state"])
        counts = dict(Adjustment.objects.order_by().values_list("state").annotate(n=Count("pk")))
        for state in Adjustment.State.values:
            adjustments.add_metric([state], counts.get(state, 0))
        yield adjustments

        last = (ReconciliationRun.objects.filter(status=ReconciliationRun.Status.FINISHED)
                .order_by("-started_at", "-pk").first())
        if last is not None:
            yield GaugeMetricFamily(
                "loyalty_reconciliation_accounts_drifting",
                "Accounts whose ledger balance differs from Pomelo's, at the last finished reconciliation",
                value=last.accounts_drifting)
            yield GaugeMetricFamily(
                "loyalty_reconciliation_errors",
                "Members the last finished reconciliation could not check", value=last.errors)
            yield GaugeMetricFamily(
                "loyalty_reconciliation_last_finished_timestamp_seconds",
                "When the last finished reconciliation started (Unix time)",
                value=last.started_at.timestamp())

        age = worker_heartbeat_age_seconds(name="worker")
        if age is not None:
            yield GaugeMetricFamily(
                "loyalty_worker_heartbeat_age_seconds",
                "Seconds since a worker last ran the scheduler's heartbeat task", value=age)


def metrics_exposition() -> bytes:
    """The text Prometheus scrapes: this process's (or, in multiprocess mode, every process's)
    counters, and the state read from the database."""
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)
        output = generate_latest(registry)
    else:
        output = generate_latest(REGISTRY)
    database = CollectorRegistry()
    database.register(BackOfficeCollector())
    return output + generate_latest(database)
