"""The signed-in person's pages in the language they chose."""

from django.conf import settings
from django.http import HttpRequest
from django.utils import translation

from staff.selectors import user_language

# The choice, read once per session: every page would otherwise cost a query for it. Signing in
# starts a new session, so a person never inherits someone else's.
SESSION_KEY = "staff.language"


def language_remember(request: HttpRequest, language: str) -> None:
    """Keep `language` ("" for LANGUAGE_CODE) as this session's choice, after it was saved."""
    request.session[SESSION_KEY] = language


class UserLanguageMiddleware:
    """After AuthenticationMiddleware and LocaleMiddleware: a signed-in person gets the language
    they chose, or LANGUAGE_CODE if they chose none, whatever their browser asks for. Nobody
    signed in (the sign-in page) keeps LocaleMiddleware's choice, the browser's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = request.session.get(SESSION_KEY)
            if language is None:
                language = user_language(user=user)
                language_remember(request, language)
            if not (language and translation.check_for_language(language)):
                language = settings.LANGUAGE_CODE
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
