from django import forms
from django.utils.translation import gettext_lazy as _


class BulkUploadForm(forms.Form):
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_("UTF-8 CSV with the columns pomelo_user_id or card_id, account_type, direction, "
                   "amount, reason_code, reason_text. Nothing is kept until you confirm the preview."),
    )


class BulkConfirmForm(forms.Form):
    token = forms.CharField(widget=forms.HiddenInput)


class BulkReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", _("Approve")), ("reject", _("Reject"))])
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 3}),
                              help_text=_("Required."))


class BulkCommentForm(forms.Form):
    comment = forms.CharField(label=_("Comment"), widget=forms.Textarea(attrs={"rows": 2}),
                              required=False)
