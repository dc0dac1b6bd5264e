"""The hello-world baseline of bench/web_requests.py: a DRF view that does nothing, served by
the same gunicorn, settings and middleware as the project's URLs (which follow it)."""

from django.urls import include, path
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView


class HelloView(APIView):
    """Authentication, parsing and rendering as every API view; no permission, no throttle,
    no database, no broker."""

    permission_classes = [AllowAny]
    throttle_classes: list = []

    def get(self, request):
        return Response({"hello": "world"})

    def post(self, request):
        return Response({"hello": "world", "fields": len(request.data)})


urlpatterns = [
    path("bench/hello/", HelloView.as_view()),  # web_requests.HELLO_PATH
    path("", include("config.urls")),
]
