"""The chains' state in admin pages: finance's block on the index, the alert on the audit."""

from django import template

from kernel import permissions as perms
from rewards.chain_selectors import chain_anchors_recent, chain_verification_latest

register = template.Library()


def _verification_latest(request):
    """The last verification, read once per page: the status block and the alert both show it."""
    if not hasattr(request, "_chain_verification_latest"):
        request._chain_verification_latest = chain_verification_latest()
    return request._chain_verification_latest


@register.inclusion_tag("admin/rewards/chain_status.html", takes_context=True)
def chain_status(context):
    """The last verification and the latest anchors, for those who may see them."""
    request = context["request"]
    user = request.user
    show_verification = user.has_perm(perms.VIEW_CHAIN_VERIFICATION)
    return {
        "show_verification": show_verification,
        "show_anchors": user.has_perm(perms.VIEW_CHAIN_ANCHOR),
        "verification": _verification_latest(request) if show_verification else None,
        "anchors": chain_anchors_recent() if user.has_perm(perms.VIEW_CHAIN_ANCHOR) else [],
    }


@register.inclusion_tag("admin/rewards/chain_alert.html", takes_context=True)
def chain_alert(context):
    """A failed verification, for every role that can read the audit trail."""
    request = context["request"]
    verification = (_verification_latest(request) if request.user.has_perm(perms.VIEW_AUDIT_ENTRY)
                     else None)
    return {"verification": verification if verification and not verification.sound else None}
