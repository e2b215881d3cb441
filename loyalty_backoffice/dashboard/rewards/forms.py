"""Forms for the admin's adjustment and balance pages. They parse input; the services decide
whether the request is allowed and say why not."""

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from accounts.models import Card, Member
from kernel.account_types import account_type_name
from loyalty_backoffice.dashboard.toolkit.amount_input import AmountField
from loyalty_backoffice.dashboard.toolkit.display import amount as amount_text
from loyalty_backoffice.dashboard.toolkit.display import unit_name
from rewards.models import Adjustment
from rewards.policies import negative_balance_allowed


def second_approval_thresholds() -> str:
    """The two-approver rule in words, for the request form: `points above 10,000.00; …`."""
    return "; ".join(
        _("%(account_type)s above %(limit)s")
        % {"account_type": unit_name(account_type), "limit": amount_text(limit)}
        for account_type, limit in settings.ADJUSTMENT_SECOND_APPROVAL_ABOVE.items()
    )


def _card_label(card: Card) -> str:
    status = "" if card.status == Card.Status.ACTIVE else f" ({card.get_status_display().lower()})"
    return f"{card}{status}"


class MemberCardField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return _card_label(obj)


class AdjustmentRequestForm(forms.Form):
    """A support agent's request for a credit or a debit of one of the member's accounts.

    Amounts are parsed here but judged by the service (positive, two decimals at most), so
    staff read one wording of each rule wherever it is broken.
    """

    card = MemberCardField(
        label=_("Card"), queryset=Card.objects.none(), required=False,
        empty_label=_("— choose a card —"),
        help_text=_("Pomelo moves balances by card."),
    )
    account_type = forms.ChoiceField(label=_("Account type"))
    # Typed in the staff member's own format (1,000.50 or 1.000,50); positivity is the
    # service's rule, worded once.
    amount = AmountField(label=_("Amount"), min_value=None, help_text=_("Positive, at most two decimals."))
    reason_code = forms.ChoiceField(label=_("Reason code"),
                                    choices=[("", _("— choose a reason —")), *Adjustment.ReasonCode.choices])
    reason_text = forms.CharField(
        label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text=_("What happened and why the member should get this; the approver reads it."),
    )
    above_balance = forms.BooleanField(
        required=False, label=_("Above available balance"),
        help_text=_("Debit more than the member has available. An approver must explicitly "
                   "override the balance to approve it."),
    )

    def __init__(self, *args, member: Member, direction: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.member = member
        self.direction = direction
        cards = member.cards.order_by("pomelo_card_id")
        self.fields["card"].queryset = cards
        self.fields["account_type"].choices = [
            ("", _("— choose an account —")),
            *((t, account_type_name(t)) for t in settings.POMELO_ACCOUNT_TYPES),
        ]
        if direction != Adjustment.Direction.DEBIT or not negative_balance_allowed():
            # Where Pomelo refuses burns below zero, an override could only end in a failure.
            del self.fields["above_balance"]
        self.fields["amount"].help_text = _(
            "Positive, at most two decimals, written as %(example)s. Two approvers are needed for "
            "%(thresholds)s."
        ) % {"example": self.fields["amount"].widget_example(), "thresholds": second_approval_thresholds()}
        if not self.is_bound:
            only = list(cards[:2])
            if len(only) == 1:
                self.initial.setdefault("card", only[0].pk)


class AdjustmentReviewForm(forms.Form):
    """An approver's decision. The button pressed gives the decision."""

    DECISIONS = [("approve", _("Approve")), ("reject", _("Reject"))]

    decision = forms.ChoiceField(choices=DECISIONS, widget=forms.HiddenInput)
    comment = forms.CharField(
        label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        error_messages={"required": _("A comment is required to approve or reject an adjustment.")},
        help_text=_("Required. Kept in the audit trail."),
    )
    override_balance = forms.BooleanField(
        required=False, label=_("Override balance"),
        help_text=_("Approve this debit although it exceeds the member's available balance. "
                   "Say why in the comment."),
    )

    def __init__(self, *args, offer_override: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not (offer_override and negative_balance_allowed()):
            del self.fields["override_balance"]


class AdjustmentOutcomeForm(forms.Form):
    """An approver settles an adjustment whose outcome at Pomelo is unknown. The button pressed
    gives the decision; the comment records what the balance check showed."""

    DECISIONS = [
        ("resend", _("Re-send with the same key")),
        ("applied", _("Close as applied")),
        ("not_applied", _("Close as not applied")),
    ]

    decision = forms.ChoiceField(choices=DECISIONS, widget=forms.HiddenInput)
    comment = forms.CharField(
        label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        error_messages={"required": _("A comment is required: say what the balance at Pomelo showed.")},
        help_text=_("Required. Say what the balance at Pomelo showed; kept in the audit trail."),
    )


class AdjustmentCommentForm(forms.Form):
    """Cancel and resume: a confirmation with an optional comment for the audit trail."""

    comment = forms.CharField(
        label=_("Comment"), required=False, widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
        help_text=_("Optional. Kept in the audit trail."),
    )


class BalanceCheckForm(forms.Form):
    card = MemberCardField(
        queryset=Card.objects.none(), required=False, empty_label=_("by member (Pomelo user id)"),
        label=_("Ask Pomelo"),
    )

    def __init__(self, *args, member: Member, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["card"].queryset = member.cards.order_by("pomelo_card_id")
