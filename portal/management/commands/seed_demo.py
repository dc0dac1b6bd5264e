"""`manage.py seed_demo`: a demo staff user and API token for local development (idempotent)."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from rest_framework.authtoken.models import Token

DEMO_USERNAME = "admin"
DEMO_PASSWORD = "admin"


class Command(BaseCommand):
    help = "Create the demo staff user (admin/admin) and print its API token. Development only."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo creates a known password: it runs only with DJANGO_DEBUG=true."
            )
        user, created = get_user_model().objects.get_or_create(
            username=DEMO_USERNAME, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        token, _ = Token.objects.get_or_create(user=user)
        self.stdout.write(f"  Demo staff login   {DEMO_USERNAME} / {DEMO_PASSWORD}")
        self.stdout.write(f"  Demo API token     {token.key}")
