"""Template filters that show amounts and times one way on every page (`{% load backoffice %}`).

- `{{ value|amount:"points" }}`: `1,234.50 points` in English, `1.234,50 points` in Spanish;
- `{{ value|signed_amount:"points" }}`: the same with `+` or `−` in front, for movements;
- `{{ value|local_time }}`: `2026-11-28 07:10 -03`, in TIME_ZONE with the zone named;
- `{{ account_type|account_type_name }}`: `Points`, `Puntos` in Spanish; unknown types as configured.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation

from django import template
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _

from kernel.account_types import account_type_name as _account_type_name
from kernel.account_types import unit_name as _unit_name
from loyalty_backoffice.dashboard.toolkit.amount_input import DECIMAL_PLACES, amount_for_input
from rewards.models import Adjustment

register = template.Library()

MINUS = "−"  # U+2212: a minus sign, wider than a hyphen and read as one by screen readers


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None



# The short words of the adjustment summary ("credit", "debit"), for tables of rows.
DIRECTION_LABELS = {Adjustment.Direction.CREDIT: _("credit"), Adjustment.Direction.DEBIT: _("debit")}

ADJUSTMENT_STATE_LABELS = dict(Adjustment.State.choices)


@register.filter
def unit_name(account_type: str) -> str:
    return _unit_name(str(account_type or ""))


@register.filter
def account_type_name(account_type) -> str:
    return _account_type_name(str(account_type or ""))


@register.filter
def direction_label(direction) -> str:
    """`credit` and `debit` in the reader's language; anything else (a bad cell of an upload)
    as it was written."""
    return str(DIRECTION_LABELS.get(str(direction or ""), direction or ""))


@register.filter
def adjustment_state(state) -> str:
    """An adjustment's state as audit entries store it (`pending_approval`), by its label."""
    return str(ADJUSTMENT_STATE_LABELS.get(str(state or ""), state or ""))


@register.filter
def amount(value, account_type: str = "") -> str:
    """An amount with thousands separators, two decimals and, given one, its unit."""
    number = _decimal(value)
    if number is None:
        return "—"
    text = amount_for_input(abs(number).quantize(Decimal(1).scaleb(-DECIMAL_PLACES)))
    if number < 0:
        text = f"{MINUS}{text}"
    return f"{text} {unit_name(account_type)}" if account_type else text


@register.filter
def signed_amount(value, account_type: str = "") -> str:
    """A movement: `+25.00 points`, `−644.02 points`; zero has no sign."""
    number = _decimal(value)
    if number is None:
        return "—"
    text = amount(number, account_type)
    return f"+{text}" if number > 0 else text


@register.filter
def local_time(value) -> str:
    """A stored (UTC) time in the staff's zone, in the one format of loyalty_backoffice/formats."""
    if not isinstance(value, datetime):
        return "—" if value in (None, "") else str(value)
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return formats.date_format(value, "DATETIME_FORMAT")
