"""Addresses of Pomelo's API as the `pomelo` fixture (`responses`) fakes it."""

POMELO = "https://pomelo.test"

BALANCE_URL = f"{POMELO}/loyalty/v1/accounts/balance"


def mint_url(account_type: str = "points") -> str:
    return f"{POMELO}/loyalty/v1/accounts/{account_type}/mint"


def burn_url(account_type: str = "points") -> str:
    return f"{POMELO}/loyalty/v1/accounts/{account_type}/burn"
