"""A test-only URLconf: the project's URLs plus views with a real bug, on API paths and off."""

from django.urls import path
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from config.urls import handler400, handler403, handler404, handler500  # noqa: F401
from config.urls import urlpatterns as project_urlpatterns


def broken_page(request):
    return {}["missing"]  # KeyError: a bug, not an HTTP error


class BrokenApi(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]

    def get(self, request):
        return {}["missing"]


urlpatterns = [
    path("api/broken/", BrokenApi.as_view()),
    path("api/broken-page/", broken_page),
    path("webhooks/broken/", broken_page),
    path("broken/", broken_page),
    *project_urlpatterns,
]
