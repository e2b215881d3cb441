"""JSON log lines: a request id on each, one line per failure with the traceback in a field."""

import io
import json
import logging

import pytest
from django.http import HttpResponse
from django.urls import path

from ops.request_logging import OneLineJsonFormatter, RequestIdFilter

pytestmark = pytest.mark.django_db


def _fails(request):
    logging.getLogger("rewards").info("about to fail")
    raise RuntimeError("the view broke\nacross two lines")


def _fine(request):
    logging.getLogger("rewards").info("all good")
    return HttpResponse("ok")


urlpatterns = [path("fails/", _fails), path("fine/", _fine)]


@pytest.fixture
def json_log():
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        OneLineJsonFormatter("%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s"))
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    root.setLevel(previous)
    root.removeHandler(handler)


@pytest.fixture
def urls(settings):
    settings.ROOT_URLCONF = __name__


def test_a_failing_request_logs_one_line_with_its_request_id_and_traceback(client, json_log, urls):
    client.raise_request_exception = False
    response = client.get("/fails/")
    assert response.status_code == 500
    request_id = response["X-Request-ID"]
    lines = json_log()
    errors = [line for line in lines if line["level"] == "ERROR"]
    assert len(errors) == 1, lines
    error = errors[0]
    assert error["logger"] == "django.request"
    assert error["request_id"] == request_id
    assert "Traceback" in error["exc_info"] and "RuntimeError: the view broke" in error["exc_info"]
    # Every line of the request carries its id.
    assert {line["request_id"] for line in lines} == {request_id}


def test_a_sane_request_id_from_the_proxy_is_kept_and_a_hostile_one_replaced(client, json_log, urls):
    response = client.get("/fine/", HTTP_X_REQUEST_ID="abc-123")
    assert response["X-Request-ID"] == "abc-123"
    assert json_log()[-1]["request_id"] == "abc-123"
    response = client.get("/fine/", HTTP_X_REQUEST_ID='x"\n{injected}')
    assert response["X-Request-ID"] != 'x"\n{injected}'
    assert len(response["X-Request-ID"]) == 32


def test_lines_outside_a_request_say_so():
    record = logging.LogRecord("ops", logging.INFO, __file__, 1, "hello", None, None)
    RequestIdFilter().filter(record)
    line = OneLineJsonFormatter("%(levelname)s %(request_id)s %(message)s").format(record)
    assert json.loads(line) == {"level": "INFO", "request_id": "-", "message": "hello"}
