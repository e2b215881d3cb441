"""The chains' state in admin pages: finance's block on the index, the alert on the audit."""

from django import template

from kernel import permissions as perms
from rewards.chain_selectors import chain_anchors_recent, chain_verification_latest

register = template.Library()


@register.inclusion_tag("admin/rewards/chain_status.html", takes_context=True)
def chain_status(context):
    """The last verification and the latest anchors, for those who may see them."""
    user = context["request"].user
    return {
        "show_verification": user.has_perm(perms.VIEW_CHAIN_VERIFICATION),
        "show_anchors": user.has_perm(perms.VIEW_CHAIN_ANCHOR),
        "verification": chain_verification_latest(),
        "anchors": chain_anchors_recent() if user.has_perm(perms.VIEW_CHAIN_ANCHOR) else [],
    }


@register.inclusion_tag("admin/rewards/chain_alert.html", takes_context=True)
def chain_alert(context):
    """A failed verification, for every role that can read the audit trail."""
    user = context["request"].user
    verification = chain_verification_latest() if user.has_perm(perms.VIEW_AUDIT_ENTRY) else None
    return {"verification": verification if verification and not verification.sound else None}
