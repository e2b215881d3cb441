"""Amounts as staff type them: `1,000.50` in English, `1.000,50` in Spanish and Portuguese.

The separators are those of the active language (loyalty_backoffice/formats). An amount is
read only when it has one meaning in that language: groups of exactly three digits between
thousands separators, at most two decimals after the decimal separator. Anything else, `1.5`
in Spanish, `1,5` in English or `1.000.5` anywhere, is refused with an example of the expected
format rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils import formats, translation
from django.utils.translation import gettext_lazy as _

# Spaces some keyboards and copied figures use between thousands: read as grouping anywhere.
_SPACES = (" ", "\u00a0", "\u202f")
MAX_DIGITS = 18
DECIMAL_PLACES = 2


@dataclass(frozen=True)
class AmountFormat:
    decimal: str
    thousands: str

    @property
    def example(self) -> str:
        return f"1{self.thousands}000{self.decimal}50"


def amount_format(*, language: str | None = None) -> AmountFormat:
    language = language or translation.get_language() or "en"
    return AmountFormat(
        decimal=formats.get_format("DECIMAL_SEPARATOR", language),
        thousands=formats.get_format("THOUSAND_SEPARATOR", language),
    )


class AmountFormatError(ValueError):
    pass


def amount_parse(text: str, *, language: str | None = None) -> Decimal:
    """The amount `text` means in `language` (the active one by default); AmountFormatError
    with a message for staff when it means nothing, or could mean two things."""
    fmt = amount_format(language=language)
    raw = (text or "").strip()
    for space in _SPACES:
        raw = raw.replace(space, fmt.thousands)
    if not raw:
        raise AmountFormatError(_("Enter an amount."))
    if raw[0] in "+-−":
        raise AmountFormatError(_("Enter the amount without a sign: the direction says credit or debit."))
    grouped = re.escape(fmt.thousands)
    decimal = re.escape(fmt.decimal)
    pattern = rf"(?:\d{{1,3}}(?:{grouped}\d{{3}})+|\d+)(?:{decimal}(\d+))?"
    match = re.fullmatch(pattern, raw, flags=re.ASCII)
    if match is None:
        raise AmountFormatError(
            _("Write the amount as %(example)s: “%(thousands)s” between thousands, “%(decimal)s” "
              "before the cents.") % {"example": fmt.example, "thousands": fmt.thousands,
                                       "decimal": fmt.decimal}
        )
    cents = match.group(1) or ""
    if len(cents) > DECIMAL_PLACES:
        raise AmountFormatError(
            _("At most two decimals after “%(decimal)s”, as in %(example)s.")
            % {"decimal": fmt.decimal, "example": fmt.example}
        )
    digits = raw.replace(fmt.thousands, "").replace(fmt.decimal, ".")
    try:
        value = Decimal(digits)
    except InvalidOperation as exc:  # the pattern admits only digits; kept for safety
        raise AmountFormatError(_("Enter a number.")) from exc
    if len(digits.split(".")[0].lstrip("0")) > MAX_DIGITS - DECIMAL_PLACES:
        raise AmountFormatError(_("That amount is too large."))
    return value


def amount_for_input(value: Decimal, *, language: str | None = None) -> str:
    """`value` written the way amount_parse reads it back in `language`."""
    fmt = amount_format(language=language)
    whole, _dot, cents = f"{value:,.{DECIMAL_PLACES}f}".partition(".")
    return f"{whole.replace(',', fmt.thousands)}{fmt.decimal}{cents}"


class AmountInput(forms.TextInput):
    """A text box (not type=number, which would impose the browser's locale) that shows the
    expected format as its placeholder and brings up a numeric keyboard on phones."""

    def get_context(self, name, value, attrs):
        attrs = {"inputmode": "decimal", "autocomplete": "off",
                 "placeholder": amount_format().example, **(attrs or {})}
        return super().get_context(name, value, attrs)


class AmountField(forms.Field):
    """A positive amount with at most two decimals, typed in the staff member's language."""

    widget = AmountInput
    default_error_messages = {"min_value": _("The amount must be greater than zero.")}

    def __init__(self, *, min_value: Decimal | None = Decimal("0.01"), **kwargs):
        self.min_value = min_value
        super().__init__(**kwargs)

    def widget_example(self) -> str:
        return amount_format().example

    def to_python(self, value):
        if value in self.empty_values:
            return None
        if isinstance(value, Decimal):
            return value
        try:
            return amount_parse(str(value))
        except AmountFormatError as exc:
            raise ValidationError(str(exc), code="invalid") from exc

    def validate(self, value):
        super().validate(value)
        if value is not None and self.min_value is not None and value < self.min_value:
            raise ValidationError(self.error_messages["min_value"], code="min_value")

    def prepare_value(self, value):
        if isinstance(value, Decimal):
            return amount_for_input(value)
        return value
