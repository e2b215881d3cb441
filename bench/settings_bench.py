"""Settings for the webhook benchmark: the app's settings plus a baseline endpoint.

Every value still comes from the environment (bench/webhooks.py sets it); only the URLconf
differs, so the webhook views run exactly as deployed.
"""

from loyalty_backoffice.settings import *  # noqa: F403

ROOT_URLCONF = "bench.bench_urls"
