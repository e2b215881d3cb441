"""Amounts with separators and units, times in the configured zone with the zone named."""

from datetime import UTC, datetime
from decimal import Decimal

from django.template import Context, Template
from django.utils import timezone, translation


def render(source: str, **context) -> str:
    return Template("{% load backoffice %}" + source).render(Context(context))


def test_amounts_have_separators_two_decimals_and_their_unit():
    with translation.override("en"):
        assert render('{{ v|amount:"points" }}', v=Decimal("1234.5")) == "1,234.50 points"
        assert render("{{ v|amount }}", v=Decimal("-644.02")) == "−644.02"
        assert render('{{ v|signed_amount:"miles" }}', v=Decimal("25")) == "+25.00 miles"
        assert render('{{ v|signed_amount:"points" }}', v=Decimal("-644.02")) == "−644.02 points"
        assert render("{{ v|signed_amount }}", v=Decimal("0")) == "0.00"
        assert render("{{ v|amount }}", v=None) == "—"
    with translation.override("es"):
        # The unit in the reader's language too.
        assert render('{{ v|amount:"points" }}', v=Decimal("1234567.5")) == "1.234.567,50 puntos"
    with translation.override("pt-br"):
        assert render("{{ v|signed_amount }}", v=Decimal("-1000")) == "−1.000,00"


def test_times_are_shown_in_the_configured_zone_with_the_zone(settings):
    stored = datetime(2026, 11, 28, 10, 5, tzinfo=UTC)
    with translation.override("en"):
        assert render("{{ t|local_time }}", t=stored) == "2026-11-28 10:05 UTC"
        with timezone.override("America/Sao_Paulo"):
            assert render("{{ t|local_time }}", t=stored) == "2026-11-28 07:05 -03"
            # Django's own date rendering (the admin's lists) uses the same single format.
            assert render("{{ t }}", t=stored) == "2026-11-28 07:05 -03"
    with translation.override("es"), timezone.override("America/Mexico_City"):
        assert render("{{ t|local_time }}", t=stored) == "2026-11-28 04:05 CST"
    assert render("{{ t|local_time }}", t=None) == "—"
