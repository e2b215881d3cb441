"""Pomelo calls are counted by outcome and timed, through the client's signal."""

import pytest

from ops.metrics import POMELO_CALL_SECONDS, POMELO_CALLS
from pomelo import PomeloClient


def _count(method: str, outcome: str) -> float:
    return POMELO_CALLS.labels(method=method, outcome=outcome)._value.get()


@pytest.mark.django_db
def test_each_pomelo_call_is_counted_by_outcome_and_timed(sandbox_pomelo, client, settings):
    sandbox_pomelo.add_member("usr-1", ["crd-1"], balances={"points": "100"})
    ok_before = _count("GET", "ok")
    observed_before = sum(s.value for s in POMELO_CALL_SECONDS.collect()[0].samples
                          if s.name.endswith("_count") and s.labels.get("method") == "GET")

    PomeloClient.from_settings().balance(user_id="usr-1")

    assert _count("GET", "ok") == ok_before + 1
    observed = sum(s.value for s in POMELO_CALL_SECONDS.collect()[0].samples
                   if s.name.endswith("_count") and s.labels.get("method") == "GET")
    assert observed == observed_before + 1
    settings.METRICS_ALLOWED_IPS = ["127.0.0.1"]
    assert 'loyalty_pomelo_calls_total{method="GET",outcome="ok"}' in client.get("/metrics").content.decode()
