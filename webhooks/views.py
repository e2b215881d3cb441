"""Pomelo's loyalty webhooks. The views only translate HTTP to the intake service and back."""

import logging

from django.conf import settings
from django.db import transaction
from django.utils.decorators import method_decorator
from django.views.decorators.csrf import csrf_exempt
from rest_framework.exceptions import APIException, MethodNotAllowed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from loyalty_backoffice.client_ip import client_ip
from rewards.models import NotificationKind
from webhooks.services import DeliveryResult, IncomingDelivery, delivery_receive

logger = logging.getLogger(__name__)


def _too_large(limit: int) -> Response:
    return Response(
        {"status": "rejected", "error": "payload_too_large",
         "message": f"body exceeds the limit of {limit} bytes"},
        status=413,
    )


@method_decorator(transaction.non_atomic_requests, name="dispatch")
@method_decorator(csrf_exempt, name="dispatch")
class LoyaltyNotificationView(APIView):
    """POST only; unauthenticated at the HTTP layer because Pomelo signs the body instead."""

    kind: NotificationKind
    authentication_classes: list = []
    permission_classes: list = []
    parser_classes: list = []
    throttle_classes: list = []

    def post(self, request: Request) -> Response:
        limit = settings.POMELO_WEBHOOK_MAX_BODY_BYTES
        try:
            declared = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            declared = 0
        if declared > limit:
            return _too_large(limit)
        body = request._request.read(limit + 1)
        if len(body) > limit:
            return _too_large(limit)
        headers = {name.lower(): value for name, value in request.headers.items()}
        result: DeliveryResult = delivery_receive(
            incoming=IncomingDelivery(
                kind=self.kind,
                path=request.get_full_path(),
                headers=headers,
                body=body,
                remote_addr=client_ip(request._request),
            )
        )
        return Response(result.body, status=result.http_status)

    def http_method_not_allowed(self, request, *args, **kwargs):
        raise MethodNotAllowed(request.method, detail=f"{request.method} is not allowed; use POST")

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
