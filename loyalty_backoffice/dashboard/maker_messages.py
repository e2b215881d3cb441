"""Shows makers, on their next admin page, what became of their requests since they last
looked (each notification once), through Django's messages."""

from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from django.utils.html import format_html

from rewards.models import MakerNotification
from rewards.services.maker_notifications import maker_notification_text, maker_notifications_take

LEVELS = {MakerNotification.Kind.APPROVED: messages.SUCCESS}


class MakerNotificationMiddleware:
    """After the messages middleware. Only a signed-in staff member's GET of an admin page:
    a POST redirects to a page that shows them, and a download would swallow them."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (request.method == "GET" and user is not None and user.is_authenticated
                and user.is_staff and request.path.startswith(reverse("admin:index"))
                and not request.path.endswith(("/export/", "/jsi18n/"))):
            for notification in maker_notifications_take(user=user):
                url = reverse("admin:rewards_adjustment_change", args=[notification.adjustment_id])
                messages.add_message(
                    request, LEVELS.get(notification.kind, messages.WARNING),
                    format_html('{} <a href="{}">#{}</a>', maker_notification_text(notification),
                                url, notification.adjustment_id),
                )
        return self.get_response(request)
