"""`manage.py test_sms`: check the SMS settings, show normalization, optionally send a message."""

from django.core.management.base import BaseCommand, CommandError

from notifications import conf
from notifications.backends import OutboundSMS, get_backend
from notifications.checks import check_sms_settings
from notifications.exceptions import InvalidPhoneNumber, ProviderError
from notifications.phone import mask_phone_number, normalize_phone_number


class Command(BaseCommand):
    help = "Check SMS settings and credentials; with --to, send a real test message now."

    def add_arguments(self, parser):
        parser.add_argument("--to", help="Recipient (E.164, or national in SMS_DEFAULT_REGION).")
        parser.add_argument("--body", default="Test message from the SMS notifications service.")

    def handle(self, *args, to=None, body="", **options):
        backend_path = conf.get("SMS_BACKEND")
        self.stdout.write(f"SMS_ENABLED          {conf.get('SMS_ENABLED')}")
        self.stdout.write(f"SMS_BACKEND          {backend_path}")
        self.stdout.write(f"SMS_DEFAULT_REGION   {conf.get('SMS_DEFAULT_REGION')}")
        self.stdout.write(f"sender               {conf.sender() or '(not set)'}")
        self.stdout.write(f"TWILIO_ACCOUNT_SID   {_hint(conf.get('TWILIO_ACCOUNT_SID'))}")
        self.stdout.write(
            f"TWILIO_AUTH_TOKEN    {'set' if conf.get('TWILIO_AUTH_TOKEN') else '(not set)'}"
        )
        self.stdout.write(
            f"TWILIO_API_BASE_URL  {conf.get('TWILIO_API_BASE_URL') or 'https://*.twilio.com'}"
        )
        self.stdout.write(f"status callback URL  {conf.status_callback_url()}")
        problems = check_sms_settings()
        for problem in problems:
            self.stderr.write(self.style.ERROR(f"{problem.id}: {problem.msg}"))
        if backend_path.endswith("TwilioBackend") and not problems:
            self._check_credentials()
        if to is None:
            if problems:
                raise CommandError("The SMS settings have problems (above).")
            self.stdout.write(
                self.style.SUCCESS("Settings look right. Use --to to send a test message.")
            )
            return
        try:
            number = normalize_phone_number(to)
        except InvalidPhoneNumber as exc:
            raise CommandError(f"{to!r} is not a valid number: {exc.message}") from exc
        self.stdout.write(f"normalized           {to!r} -> {number}")
        try:
            result = get_backend().send(
                OutboundSMS(
                    to=number,
                    body=body,
                    sender=conf.sender(),
                    status_callback=conf.status_callback_url(),
                )
            )
        except ProviderError as exc:
            raise CommandError(
                f"Sending to {mask_phone_number(number)} failed: {exc.code} {exc.message}"
            ) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Sent to {mask_phone_number(number)}: {result.provider_sid} ({result.status})"
            )
        )

    def _check_credentials(self) -> None:
        from notifications import twilio_client

        try:
            twilio_client.fetch_account()
        except ProviderError as exc:
            raise CommandError(f"Twilio refused the credentials: {exc.code} {exc.message}") from exc
        self.stdout.write(self.style.SUCCESS("credentials          accepted by Twilio"))


def _hint(value: str) -> str:
    return f"{value[:6]}…{value[-4:]}" if value else "(not set)"
