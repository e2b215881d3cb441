"""Health probes and metrics, answered before any other middleware.

Load balancers and Kubernetes probe with the pod's IP as Host and over plain HTTP, and
Prometheus scrapes the same way: Host validation (ALLOWED_HOSTS), the HTTPS redirect and the
session would all refuse or redirect them. So this middleware sits first and answers these
three paths itself; every other request goes on as usual.
"""

from __future__ import annotations

import ipaddress
import logging

from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest, HttpResponse, JsonResponse

from ops.metrics import metrics_exposition
from ops.readiness import readiness_report

logger = logging.getLogger("ops.probes")

HEALTH_PATH = "/healthz"
READY_PATH = "/readyz"
METRICS_PATH = "/metrics"


def _metrics_allowed(remote_addr: str) -> bool:
    """Only the TCP peer counts (never X-Forwarded-For): Prometheus scrapes the process
    directly, and the public proxy should not route /metrics at all."""
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(entry, strict=False) for entry in settings.METRICS_ALLOWED_IPS)


class ProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        path = request.path_info.rstrip("/") or "/"
        if path == HEALTH_PATH:
            # Liveness: the process answers. No database, so a database outage never gets
            # every web process restarted.
            return JsonResponse({"status": "ok"})
        if path == READY_PATH:
            return self._ready()
        if path == METRICS_PATH:
            if not _metrics_allowed(request.META.get("REMOTE_ADDR", "")):
                return _logged(JsonResponse({"error": "not allowed from this address"}, status=403))
            return HttpResponse(metrics_exposition(), content_type="text/plain; version=0.0.4")
        return self.get_response(request)

    def _ready(self) -> HttpResponse:
        ready, checks = readiness_report()
        if not ready:
            # A warning, not an error: an unready instance is what probes are for.
            logger.warning("not ready: %s", checks)
            # A connection that failed stays broken; drop it so the next probe connects afresh.
            close_old_connections()
        return _logged(JsonResponse({"status": "ok" if ready else "unavailable", "checks": checks},
                                    status=200 if ready else 503))


def _logged(response: HttpResponse) -> HttpResponse:
    """Tell Django's request logger this answer is expected: it would log every 4xx/5xx as a
    warning or an error, and an unready instance is not an error."""
    response._has_been_logged = True
    return response
