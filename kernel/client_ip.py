"""The client's address, read the way the deployment says, never guessed from headers."""

import ipaddress

from django.conf import settings
from django.http import HttpRequest


def client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, or the address our N trusted proxies saw (CLIENT_IP_TRUSTED_PROXY_COUNT).

    Each proxy appends the address it received the request from to X-Forwarded-For, so the
    N-th entry from the right was written by our outermost proxy. Entries further left come
    from the caller and can be forged.
    """
    hops = settings.CLIENT_IP_TRUSTED_PROXY_COUNT
    if hops <= 0:
        return _valid(request.META.get("REMOTE_ADDR"))
    forwarded = [
        part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
        if part.strip()
    ]
    if len(forwarded) < hops:
        return None
    return _valid(forwarded[-hops])


def _valid(address: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address(address)) if address else None
    except ValueError:
        return None
