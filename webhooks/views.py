"""Pomelo's loyalty webhooks. The views only translate HTTP to the intake service and back."""

import logging
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation
from django.utils.decorators import method_decorator
from django.utils.encoding import escape_uri_path, iri_to_uri
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from kernel.client_ip import client_ip
from rewards.models import NotificationKind
from webhooks.services import DeliveryResult, IncomingDelivery, delivery_receive, delivery_reject

logger = logging.getLogger(__name__)

_READ_CHUNK = 64 * 1024


@dataclass(frozen=True)
class _Body:
    data: bytes = b""
    # Why the body could not be read: (status, error, message, note), or None.
    refusal: tuple[int, str, str, str] | None = None


def _body_read(request: HttpRequest, limit: int) -> _Body:
    """The request body, at most `limit` bytes, read straight from the WSGI stream.

    Without Content-Length, Django reads nothing. A chunked body is read to its end when the
    server marks the stream as terminated (gunicorn does: `wsgi.input_terminated`); otherwise
    we cannot know where it ends and answer 411.
    """
    too_large = (413, "payload_too_large", f"body exceeds the limit of {limit} bytes")
    declared = request.META.get("CONTENT_LENGTH") or ""
    if declared:
        if not declared.isascii() or not declared.isdigit():
            return _Body(refusal=(411, "length_required", "Content-Length is not a number", ""))
        if len(declared) > 18 or int(declared) > limit:
            return _Body(refusal=(*too_large, f"declared {declared[:24]} bytes; body not kept"))
        body = request.read(limit + 1)
    elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        if not request.META.get("wsgi.input_terminated"):
            return _Body(refusal=(411, "length_required",
                                  "send Content-Length: this server cannot read a chunked body", ""))
        stream, parts, size = request.META["wsgi.input"], [], 0
        while size <= limit:
            part = stream.read(min(_READ_CHUNK, limit + 1 - size))
            if not part:
                break
            parts.append(part)
            size += len(part)
        body = b"".join(parts)
    else:
        return _Body()  # no Content-Length and not chunked: an empty body (RFC 9112, 6.3)
    if len(body) > limit:
        return _Body(refusal=(*too_large, "body not kept"))
    return _Body(data=body)


def _endpoints(request: HttpRequest) -> tuple[str, ...]:
    """What x-endpoint may say: the public path Pomelo was given (our path behind the
    configured prefix a proxy strips) and the path this process saw."""
    query = request.META.get("QUERY_STRING", "")
    app_path = escape_uri_path(request.path_info) + (f"?{iri_to_uri(query)}" if query else "")
    public = settings.POMELO_WEBHOOK_PUBLIC_PATH_PREFIX + app_path
    return tuple(dict.fromkeys([public, request.get_full_path()]))


@method_decorator(csrf_exempt, name="dispatch")
class LoyaltyNotificationView(APIView):
    """POST only; unauthenticated at the HTTP layer because Pomelo signs the body instead.

    `kind` is the notification kind of the URL; None on the single URL, where the body's
    event_id names it.
    """

    kind: NotificationKind | None = None
    authentication_classes: list = []
    permission_classes: list = []
    parser_classes: list = []
    throttle_classes: list = []
    # No OPTIONS or HEAD either: every other method is answered 405 and recorded.
    http_method_names = ["post"]

    renderer_classes = [JSONRenderer]

    def dispatch(self, request, *args, **kwargs):
        # Pomelo's answers and what the inbox stores stay in English, whatever language the
        # request asks for (the admin translates what it shows, never what is stored).
        with translation.override(settings.LANGUAGE_CODE):
            return super().dispatch(request, *args, **kwargs)

    def perform_content_negotiation(self, request, force=False):
        # Answer JSON whatever Accept says: a 406 would make Pomelo give up on a notification.
        # Nothing to negotiate, so the Accept header is not even parsed.
        renderer = JSONRenderer()
        return renderer, renderer.media_type

    def _incoming(self, request: HttpRequest, body: bytes) -> IncomingDelivery:
        return IncomingDelivery(
            kind=self.kind,
            path=request.get_full_path(),
            headers={name.lower(): value for name, value in request.headers.items()},
            body=body,
            remote_addr=client_ip(request),
            endpoints=_endpoints(request),
        )

    def _refuse(self, request: HttpRequest, body: _Body, status: int, error: str, message: str,
                note: str = "") -> Response:
        result = delivery_reject(
            incoming=self._incoming(request, body.data), status=status, error=error,
            message=message, note=note,
        )
        return Response(result.body, status=result.http_status)

    def post(self, request: Request) -> Response:
        django_request = request._request
        body = _body_read(django_request, settings.POMELO_WEBHOOK_MAX_BODY_BYTES)
        if body.refusal is not None:
            return self._refuse(django_request, body, *body.refusal)
        result: DeliveryResult = delivery_receive(incoming=self._incoming(django_request, body.data))
        return Response(result.body, status=result.http_status)

    def http_method_not_allowed(self, request, *args, **kwargs):
        django_request = request._request
        method = (request.method or "")[:20]
        body = _body_read(django_request, settings.POMELO_WEBHOOK_MAX_BODY_BYTES)
        note = "body not kept" if body.refusal is not None else ""
        response = self._refuse(
            django_request, _Body(data=body.data), 405, "method_not_allowed",
            f"{method} is not allowed; use POST", note,
        )
        response.data["detail"] = response.data["message"]
        return response

    def handle_exception(self, exc):
        if isinstance(exc, APIException):
            return super().handle_exception(exc)
        # Our own failure (the database unreachable, say): answer 500 so Pomelo retries.
        logger.exception("webhook intake failed before the delivery could be recorded")
        return Response(
            {"status": "failed", "error": "internal_error",
             "message": "the back office could not record this notification; retry later"},
            status=500,
        )


class PendingRewardView(LoyaltyNotificationView):
    kind = NotificationKind.PENDING


class RewardConfirmationView(LoyaltyNotificationView):
    kind = NotificationKind.CONFIRMATION


class RewardCancellationView(LoyaltyNotificationView):
    kind = NotificationKind.CANCELLATION
