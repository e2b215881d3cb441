from django.contrib import admin
from django.urls import include, path
from django.utils.translation import gettext_lazy as _
from django.views.generic import RedirectView

admin.site.site_header = _("Loyalty back office")
admin.site.site_title = _("Loyalty back office")
admin.site.index_title = _("Members, rewards and adjustments")

# A refused request gets a page that says why and links back (dashboard/errors.py).
handler403 = "loyalty_backoffice.dashboard.errors.permission_denied"

urlpatterns = [
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
    path("admin/", admin.site.urls),
    path("account/", include("staff.urls")),
    path("webhooks/pomelo/loyalty/", include("webhooks.urls")),
]
