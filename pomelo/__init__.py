"""Pomelo Loyalty API client: OAuth tokens, balance, mint and burn, typed errors."""

from .auth import TokenProvider
from .client import PomeloClient, PomeloResponse
from .errors import (
    PomeloAuthenticationError,
    PomeloError,
    PomeloInsufficientBalance,
    PomeloInvalidRequest,
    PomeloNotFound,
    PomeloUnavailable,
)
from .payloads import balances_from_payload, encode_movement_body, format_amount

__all__ = [
    "PomeloAuthenticationError",
    "PomeloClient",
    "PomeloError",
    "PomeloInsufficientBalance",
    "PomeloInvalidRequest",
    "PomeloNotFound",
    "PomeloResponse",
    "PomeloUnavailable",
    "TokenProvider",
    "balances_from_payload",
    "encode_movement_body",
    "format_amount",
]
