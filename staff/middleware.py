"""The signed-in person's pages in the language they chose."""

from django.conf import settings
from django.utils import translation

from staff.selectors import user_language


class UserLanguageMiddleware:
    """After AuthenticationMiddleware and LocaleMiddleware: a signed-in person gets the language
    they chose, or LANGUAGE_CODE if they chose none, whatever their browser asks for. Nobody
    signed in (the sign-in page) keeps LocaleMiddleware's choice, the browser's."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            language = user_language(user=user)
            if not (language and translation.check_for_language(language)):
                language = settings.LANGUAGE_CODE
            translation.activate(language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)
