"""The app's URLs plus the benchmark's baseline endpoint (bench.settings_bench only)."""

from django.urls import path

from bench.baseline import baseline_receive
from loyalty_backoffice.urls import urlpatterns as app_urlpatterns

urlpatterns = [
    *app_urlpatterns,
    path("bench/baseline", baseline_receive, name="bench-baseline"),
]
