"""The app's settings with the benchmarks' URLs: every value still comes from the environment."""

from loyalty_backoffice.settings import *  # noqa: F403

ROOT_URLCONF = "bench.lib.urls"
