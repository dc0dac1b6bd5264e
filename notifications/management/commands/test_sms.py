"""`manage.py test_sms`: check the SMS settings, show normalization, optionally send a message."""

from urllib.parse import quote

from django.core.management.base import BaseCommand, CommandError
from django.urls import reverse

from notifications import conf, delivery, services
from notifications.backends import get_backend
from notifications.checks import check_sms_settings
from notifications.exceptions import InvalidPhoneNumber, ProviderError
from notifications.phone import mask_phone_number, normalize_phone_number
from notifications.status import SMSStatus


class Command(BaseCommand):
    help = "Check SMS settings and credentials; with --to, send a real test message now."

    def add_arguments(self, parser):
        parser.add_argument("--to", help="Recipient (E.164, or national in SMS_DEFAULT_REGION).")
        parser.add_argument("--body", default="Test message from the SMS notifications service.")

    def handle(self, *args, to=None, body="", **options):
        self.stdout.write(f"SMS_ENABLED          {conf.get('SMS_ENABLED')}")
        self.stdout.write(f"SMS_BACKEND          {conf.get('SMS_BACKEND')}")
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
        problems = []  # a warning (W001: no phone verification) does not stop a test send
        for message in check_sms_settings():
            style = self.style.ERROR if message.is_serious() else self.style.WARNING
            self.stderr.write(style(f"{message.id}: {message.msg}"))
            if message.is_serious():
                problems.append(message)
        if not problems:
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
        self._send(number, body)

    def _check_credentials(self) -> None:
        """Asks the configured backend, whatever its class: it knows what proves them."""
        try:
            proven = get_backend().check_credentials()
        except ProviderError as exc:
            raise CommandError(
                f"The provider refused the credentials: {exc.code} {exc.message}"
            ) from exc
        self.stdout.write(self.style.SUCCESS(f"credentials          {proven}"))

    def _send(self, number: str, body: str) -> None:
        """Record the message like any other, then deliver it now, as a worker would.

        Recorded through send_sms, so the provider's status callbacks find its SMSLog row;
        delivered here by the delivery engine rather than by a worker, so the answer (the
        provider's SID, or its error code) is printed even where no worker runs yet. A
        transient failure leaves it to the workers' retries, like any other message.
        """
        message = services.send_sms(to=number, body=body, publish=False)
        self.stdout.write(f"message id           {message.id}")
        for label, url in _where_to_follow(message):
            self.stdout.write(f"{label:<21}{url}")
        if message.status == SMSStatus.SKIPPED:
            raise CommandError(f"Not sent: {message.error_message}")
        delivery.deliver_messages(message_ids=[message.id])
        message.refresh_from_db()
        masked = mask_phone_number(number)
        if message.status in (SMSStatus.FAILED, SMSStatus.UNDELIVERED):
            raise CommandError(
                f"Sending to {masked} failed: {message.error_code} {message.error_message}"
            )
        if message.status == SMSStatus.PENDING:
            raise CommandError(
                f"Not sent yet to {masked}: {message.error_code or 'rate limit'} "
                f"{message.error_message}; the workers retry it (follow it above)."
            )
        self.stdout.write(
            self.style.SUCCESS(f"Sent to {masked}: {message.provider_sid} ({message.status})")
        )


def _where_to_follow(message) -> list[tuple[str, str]]:
    """Where a person can follow the message: the API, the admin, the sandbox's inbox."""
    base = conf.get("PUBLIC_BASE_URL").rstrip("/")
    places = [
        ("status (API)", base + reverse("notifications:sms-status", args=[message.id])),
        ("admin", base + reverse("admin:notifications_smslog_change", args=[message.id])),
    ]
    inbox = conf.get("TWILIO_SANDBOX_INBOX_URL")
    if inbox:
        places.append(("sandbox inbox", f"{inbox}?to={quote(message.to)}"))
    return places


def _hint(value: str) -> str:
    return f"{value[:6]}…{value[-4:]}" if value else "(not set)"
