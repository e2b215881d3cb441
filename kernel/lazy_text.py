"""Text a read builds for a page, translated when the page shows it rather than when it is built.

`lazy_message(gettext_lazy("Reward %(state)s"), state=...)` stays a whole translatable message
with named placeholders; lazy placeholders (choice labels) are translated at the same moment.
"""

from typing import Any

from django.utils.functional import Promise, lazy

# What a page shows: a plain string or one translated when shown.
Text = str | Promise


def _render(message: Any, params: dict[str, Any]) -> str:
    return str(message) % {key: str(value) if isinstance(value, Promise) else value
                           for key, value in params.items()}


_lazy_render = lazy(_render, str)


def lazy_message(message: Text, **params: Any) -> Text:
    """`message % params`, evaluated in the language active when it is turned into text."""
    return _lazy_render(message, params)
