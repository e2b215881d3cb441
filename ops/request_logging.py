"""JSON log lines, each carrying the id of the request (or task) that wrote it.

The request id is the proxy's X-Request-ID when it sends a sane one (so one id follows a
request through proxy, gunicorn and app), else a new one; it goes back in the response header.
A failure logs once, as one line, with the traceback in its `exc_info` field.
"""

from __future__ import annotations

import contextvars
import logging
import re
import uuid

from django.http import HttpRequest, HttpResponse
from pythonjsonlogger.json import JsonFormatter

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="-")
_SANE_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record, whichever logger wrote it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        return True


class OneLineJsonFormatter(JsonFormatter):
    """python-json-logger's formatter; `exc_info` stays one JSON string, so a traceback is one
    line in the log, not sixty."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("rename_fields", {"levelname": "level", "asctime": "time", "name": "logger"})
        kwargs.setdefault("timestamp", False)
        super().__init__(*args, **kwargs)


class RequestIdMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        offered = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = offered if _SANE_REQUEST_ID.match(offered) else uuid.uuid4().hex
        token = request_id_var.set(request_id)
        request.request_id = request_id
        try:
            response = self.get_response(request)
            # gunicorn's access log (deploy/gunicorn.conf.py) writes the one line per request,
            # with this header as its request id.
            response["X-Request-ID"] = request_id
            return response
        finally:
            request_id_var.reset(token)
