"""gunicorn's configuration for the back office: `gunicorn -c deploy/gunicorn.conf.py`.

Every value can be changed from the environment without editing this file.
"""

import os

bind = os.environ.get("GUNICORN_BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
workers = int(os.environ.get("WEB_CONCURRENCY", "4"))
wsgi_app = "loyalty_backoffice.wsgi:application"

# No web request waits on Pomelo (approvals only queue the submission), so a request that runs
# 30 s is stuck: the worker is killed and replaced. A deploy's SIGTERM lets requests in flight
# finish for up to graceful_timeout.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
# Longer than the proxy's idle timeout for a kept-alive connection would be wasted; shorter
# than it makes the proxy reuse a socket we just closed (a 502).
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "75"))
# Recycle workers now and then so a slow leak never grows without bound; the jitter stops them
# all restarting at once.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = int(os.environ.get("GUNICORN_MAX_REQUESTS_JITTER", "200"))

# gunicorn 27's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl), shared
# by every instance on the host: a second instance takes it over and `gunicornc` then talks to
# the wrong one. Off unless a path of this instance's own is given.
_control_socket = os.environ.get("GUNICORN_CONTROL_SOCKET", "")
if _control_socket:
    control_socket = _control_socket
else:
    control_socket_disable = True

# Access log on, to stdout, one JSON object per request carrying the app's request id (the
# X-Request-ID response header, ops/request_logging.py) and the client address the proxy saw.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
access_log_format = (
    '{"time": "%(t)s", "logger": "gunicorn.access", "remote": "%(h)s", '
    '"forwarded_for": "%({x-forwarded-for}i)s", "method": "%(m)s", "path": "%(U)s", '
    '"status": %(s)s, "bytes": "%(B)s", "duration_ms": %(M)s, '
    '"request_id": "%({x-request-id}o)s", "user_agent": "%(a)s"}'
)
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Only our own proxy may set X-Forwarded-*; gunicorn trusts it from these addresses.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
