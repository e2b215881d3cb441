"""The app's settings with the benchmarks' URLs: every value still comes from the environment."""

from loyalty_backoffice.settings import *  # noqa: F403

ROOT_URLCONF = "bench.lib.urls"
# Pages render without `collectstatic` first, as in the tests: the benchmarks time the views, not
# the static files' manifest.
STORAGES = {**STORAGES, "staticfiles": {  # noqa: F405
    "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
