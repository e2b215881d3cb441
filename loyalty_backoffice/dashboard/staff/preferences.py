""""Language" in the user menu: each person picks the language of their own pages."""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from staff.middleware import language_remember
from staff.selectors import language_choices, user_language
from staff.services import UserManagementError, user_language_set


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=_("Language"), required=False,
        help_text=_("The language of your pages. The default is the back office's own."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        default = dict(language_choices()).get(
            translation.get_supported_language_variant(settings.LANGUAGE_CODE), settings.LANGUAGE_CODE)
        self.fields["language"].choices = [
            ("", _("Default (%(language)s)") % {"language": default}),
            *language_choices(),
        ]


def preferences_view(request: HttpRequest, *, site) -> HttpResponse:
    """Any signed-in staff member's own preferences (the admin site checks staff status)."""
    if request.method == "POST":
        form = LanguageForm(request.POST)
        if form.is_valid():
            try:
                preference = user_language_set(user=request.user, language=form.cleaned_data["language"])
            except UserManagementError as exc:
                form.add_error("language", exc.message)
            else:
                language_remember(request, preference.language)
                # The confirmation already in the language just chosen.
                translation.activate(preference.language or settings.LANGUAGE_CODE)
                messages.success(request, gettext("Your language is saved."))
                return HttpResponseRedirect(reverse("admin:preferences"))
    else:
        form = LanguageForm(initial={"language": user_language(user=request.user)})
    return TemplateResponse(request, "admin/staff/preferences.html", {
        **site.each_context(request),
        "title": _("Language"),
        "form": form,
    })
