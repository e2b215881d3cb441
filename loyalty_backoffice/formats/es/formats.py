from loyalty_backoffice.formats.dates import *  # noqa: F403 (Django reads this module's names)

DECIMAL_SEPARATOR = ","
THOUSAND_SEPARATOR = "."
