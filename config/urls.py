"""Project URLs: admin, the placement portal, the SMS API and webhooks, OpenAPI schema and docs,
health."""

from django.conf import settings
from django.contrib import admin
from django.shortcuts import render
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config.health import healthz, healthz_live


def home(request):
    """Links for people: the placement portal, admin, API docs and, in development, the Twilio
    sandbox's inbox."""
    inbox = settings.TWILIO_SANDBOX_INBOX_URL
    return render(request, "home.html", {"sandbox_inbox_url": inbox})


handler400 = "config.exceptions.json_bad_request"
handler403 = "config.exceptions.json_permission_denied"
handler404 = "config.exceptions.json_not_found"
handler500 = "config.exceptions.json_server_error"

urlpatterns = [
    path("", home, name="home"),
    path("admin/", admin.site.urls),
    path("portal/", include("portal.urls")),
    path("", include("notifications.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("healthz", healthz, name="healthz"),
    path("healthz/live", healthz_live, name="healthz-live"),
]
