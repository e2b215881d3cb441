"""The command line every suite shares: options, limits, the run header, exit codes.

Exit codes: 0 every target met, 1 one missed, 2 the benchmark could not run, 130 interrupted.
"""

import argparse
import math
import os
import shlex
import signal
import sys
from collections.abc import Callable, Iterable, Sequence

from bench.lib.pg import database_name_ok


def parser_create(doc: str, *, database: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description=doc.split("\n\n", 1)[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--database", default=database,
                        help="PostgreSQL database, dropped and created (suites that use two add _small)")
    parser.add_argument("--seed", type=int, default=1)
    return parser


def arguments_parse(parser: argparse.ArgumentParser, argv: Sequence[str] | None,
                    limits: Callable[[argparse.Namespace], Iterable[tuple[bool, str]]]) -> argparse.Namespace:
    """Parse, then exit with the parser's usage error for the first limit that does not hold."""
    args = parser.parse_args(argv)
    checks = [(database_name_ok(args.database), "--database: a plain name, not CI's or postgres"),
              *limits(args)]
    for ok, message in checks:
        if not ok:
            parser.error(message)
    return args


def equivalent_command(module: str, args: argparse.Namespace) -> str:
    """The command with every option spelled out, to rerun exactly this measurement."""
    words = [os.path.relpath(sys.executable), "-m", module]
    for name, value in sorted(vars(args).items()):
        option = "--" + name.replace("_", "-")
        if value is True:
            words.append(option)
        elif value not in (False, None, [], ""):
            for item in value if isinstance(value, list) else [value]:
                words += [option, str(item)]
    return shlex.join(words)


def header_print(module: str, args: argparse.Namespace, load_before: float, width: int = 86) -> None:
    print("=" * width)
    print(f"command:     {shlex.join(sys.orig_argv)}")
    print(f"equivalent:  {equivalent_command(module, args)}")
    print(f"machine:     {os.cpu_count()} CPUs, load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after (above ~0: other work competes for the CPUs)")
    print("-" * width)


def checks_print(checks: dict[str, bool]) -> int:
    """Print each check and the verdict; the exit code."""
    for name, ok in checks.items():
        print(f"  [{'ok' if ok else 'FAIL'}] {name}")
    met = all(checks.values())
    print("TARGET MET" if met else "TARGET MISSED")
    return 0 if met else 1


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def suite_run(main: Callable[[Sequence[str] | None], int]) -> None:
    """Run a suite's main: SIGTERM unwinds like Ctrl-C, so every process it started is stopped."""
    signal.signal(signal.SIGTERM, _raise_interrupt)
    try:
        sys.exit(main(None))
    except KeyboardInterrupt:
        print("interrupted; every process this run started was stopped", file=sys.stderr)
        sys.exit(130)
    except (RuntimeError, OSError) as exc:
        print(f"the benchmark could not run: {exc}", file=sys.stderr)
        sys.exit(2)


def percentile(values: Sequence[float], p: float) -> float:
    """The nearest-rank p-th percentile (NaN when there are none)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def median(values: Sequence[float]) -> float:
    ordered = sorted(values)
    if not ordered:
        return math.nan
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def ratio(value: float, baseline: float) -> float:
    return value / baseline if baseline else math.nan
