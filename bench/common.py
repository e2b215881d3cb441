"""Pieces every benchmark script shares: argument limits, Ctrl-C on SIGTERM, percentiles."""

import argparse
import math
import signal
from collections.abc import Iterable, Sequence


def database_name_ok(name: str) -> bool:
    """A plain PostgreSQL database name the scripts may drop and recreate."""
    return name.replace("_", "").isalnum() and name not in {"postgres", "loyalty_backoffice"}


def limits_enforce(parser: argparse.ArgumentParser, limits: Iterable[tuple[bool, str]]) -> None:
    """Exit with the parser's usage error for the first limit that does not hold."""
    for ok, message in limits:
        if not ok:
            parser.error(message)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def sigterm_as_interrupt() -> None:
    """Make SIGTERM unwind like Ctrl-C, so every script stops the processes it started."""
    signal.signal(signal.SIGTERM, _raise_interrupt)


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank p-th percentile of `values` (NaN when there are none)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]
