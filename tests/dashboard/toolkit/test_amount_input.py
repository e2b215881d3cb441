"""Amounts typed in each language's own format; anything with two readings is refused."""

from decimal import Decimal

import pytest
from django import forms
from django.utils import translation

from loyalty_backoffice.dashboard.toolkit.amount_input import (
    AmountField,
    AmountFormatError,
    amount_for_input,
    amount_parse,
)


@pytest.mark.parametrize(
    ("language", "text", "expected"),
    [
        ("en", "1,000.50", "1000.50"),
        ("en", "1000.5", "1000.5"),
        ("en", "12,345,678.09", "12345678.09"),
        ("en", " 25 ", "25"),
        ("en", "1 000.50", "1000.50"),
        ("en-us", "0.01", "0.01"),
        ("es", "1.000,50", "1000.50"),
        ("es", "1000,5", "1000.5"),
        ("es", "1.000", "1000"),
        ("es", "1\u00a0000,50", "1000.50"),
        ("pt-br", "12.345.678,09", "12345678.09"),
        ("pt-br", "644,02", "644.02"),
    ],
)
def test_each_language_reads_its_own_format(language, text, expected):
    assert amount_parse(text, language=language) == Decimal(expected)


@pytest.mark.parametrize(
    ("language", "text", "message"),
    [
        # The other convention's way: refused, never read as something else.
        ("en", "1.000,50", "Write the amount as 1,000.50"),
        ("en", "1,5", "Write the amount as 1,000.50"),
        ("en", "1.000", "At most two decimals"),
        ("es", "1,000.50", "Write the amount as 1.000,50"),
        ("es", "1.5", "Write the amount as 1.000,50"),
        ("pt-br", "1,000", "At most two decimals"),
        ("pt-br", "1.00,50", "Write the amount as 1.000,50"),
        ("es", "1.000.5", "Write the amount as 1.000,50"),
        ("en", "1,,000", "Write the amount as"),
        ("en", "-5", "without a sign"),
        ("en", "+5", "without a sign"),
        ("en", "1e3", "Write the amount as"),
        ("en", "NaN", "Write the amount as"),
        ("en", "١٢٣", "Write the amount as"),  # digits of another script
        ("en", "", "Enter an amount"),
        ("en", "1" * 17, "too large"),
    ],
)
def test_ambiguous_or_malformed_amounts_are_refused_with_the_expected_format(language, text, message):
    with pytest.raises(AmountFormatError, match=message):
        amount_parse(text, language=language)


def test_written_back_as_the_language_reads_it():
    value = Decimal("1234567.5")
    for language, text in (("en", "1,234,567.50"), ("es", "1.234.567,50"), ("pt-br", "1.234.567,50")):
        assert amount_for_input(value, language=language) == text
        assert amount_parse(text, language=language) == value


class RequestForm(forms.Form):
    amount = AmountField()


def test_the_form_field_uses_the_active_language_and_says_what_it_expects():
    with translation.override("pt-br"):
        form = RequestForm({"amount": "1.000,50"})
        assert form.is_valid() and form.cleaned_data["amount"] == Decimal("1000.50")
        form = RequestForm({"amount": "1,000.50"})
        assert not form.is_valid() and "1.000,50" in form.errors["amount"][0]
        widget = str(form["amount"])
        assert 'placeholder="1.000,50"' in widget and 'inputmode="decimal"' in widget
        assert 'value="1.000,50"' in str(RequestForm(initial={"amount": Decimal("1000.5")})["amount"])
    with translation.override("en"):
        assert RequestForm({"amount": "1,000.50"}).is_valid()
        form = RequestForm({"amount": "0.00"})
        assert not form.is_valid() and "greater than zero" in form.errors["amount"][0]
        assert not RequestForm({"amount": ""}).is_valid()
