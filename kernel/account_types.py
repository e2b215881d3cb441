"""The names staff read for the account types configured in POMELO_ACCOUNT_TYPES.

The stored and configured value stays the code Pomelo uses ("points"); only the display is
translated. A type configured later without a name here is shown as configured.
"""

from django.utils.translation import gettext_lazy as _

ACCOUNT_TYPE_NAMES = {
    "points": _("Points"),
    "cashback": _("Cashback"),
    "miles": _("Miles"),
}

# The same in a sentence, as the unit of an amount: "25.00 points".
UNIT_NAMES = {"points": _("points"), "cashback": _("cashback"), "miles": _("miles")}


def account_type_name(account_type: str) -> str:
    """The translated name of `account_type` in the active language, or the code itself."""
    name = ACCOUNT_TYPE_NAMES.get(account_type)
    return str(name) if name is not None else account_type


def unit_name(account_type: str) -> str:
    """The unit of an amount of `account_type` in the active language, or the code itself."""
    name = UNIT_NAMES.get(account_type)
    return str(name) if name is not None else account_type
