"""The backend interface: send one message, return the provider SID and a normalized status;
start and check a phone verification."""

from dataclasses import dataclass, field
from datetime import datetime

from django.core import checks

from notifications import conf
from notifications.exceptions import SMSConfigurationError
from notifications.status import SMSStatus


@dataclass(frozen=True)
class OutboundSMS:
    to: str  # E.164
    body: str
    sender: str = ""
    status_callback: str = ""
    reference: str = ""  # our SMSLog id, for backends that can carry it


@dataclass(frozen=True)
class SendResult:
    provider_sid: str
    status: SMSStatus
    raw: dict = field(default_factory=dict)
    # The provider's error when it answers with a message that already failed.
    error_code: str = ""
    error_message: str = ""


# Verification errors keep Twilio Verify's codes, whichever backend raises them:
# https://www.twilio.com/docs/api/errors/20404 and /60202.
NO_PENDING_VERIFICATION = "20404"  # expired, approved or canceled: a PermanentProviderError
MAX_CHECK_ATTEMPTS = "60202"  # five checks of one code: a PermanentProviderError


@dataclass(frozen=True)
class VerificationStarted:
    sid: str
    status: str  # the provider's: `pending` once a code is on its way


@dataclass(frozen=True)
class VerificationChecked:
    sid: str
    status: str  # approved, pending (a wrong code), canceled, expired, max_attempts_reached
    valid: bool


class BaseSMSBackend:
    """Subclasses implement send(); it raises TransientProviderError or PermanentProviderError.
    To verify phone numbers they implement start_verification() and check_verification() too.

    A backend says what it needs (required_settings, check) and can prove its credentials
    (check_credentials): the system checks and `test_sms` ask it, whatever its name.
    """

    #: Settings that must not be empty for this backend to send (notifications.E003).
    required_settings: tuple[str, ...] = ()
    #: Settings phone verification needs besides those (notifications.W001 when one is empty).
    required_verification_settings: tuple[str, ...] = ()

    def __init__(self, **kwargs) -> None:
        pass

    @classmethod
    def check(cls) -> list[checks.CheckMessage]:
        """Problems of the current settings for this backend, as system-check messages."""
        errors = []
        for name in cls.required_settings:
            try:
                conf.require(name)
            except SMSConfigurationError:
                errors.append(
                    checks.Error(
                        f"{name} is required by the SMS backend "
                        f"{cls.__module__}.{cls.__qualname__}.",
                        id="notifications.E003",
                    )
                )
        return errors + cls._verification_checks()

    @classmethod
    def _verification_checks(cls) -> list[checks.CheckMessage]:
        # A Warning, not an Error: a deployment may send notifications and never verify a
        # phone; one that does verify gets `not_configured` at run time, named in the log.
        try:
            cls.require_verification_settings()
        except SMSConfigurationError as exc:
            return [
                checks.Warning(
                    f"Phone verification will fail: {exc} Starts end `failed` "
                    "(not_configured) and checks answer 503.",
                    hint="Set it, or add notifications.W001 to SILENCED_SYSTEM_CHECKS if this "
                    "deployment never verifies phone numbers.",
                    id="notifications.W001",
                )
            ]
        return []

    @classmethod
    def require_verification_settings(cls) -> None:
        """Raises SMSConfigurationError naming what phone verification lacks with this backend."""
        if cls.start_verification is BaseSMSBackend.start_verification:
            raise SMSConfigurationError(cls._cannot_verify())
        for name in cls.required_verification_settings:
            try:
                conf.require(name)
            except SMSConfigurationError:
                raise SMSConfigurationError(
                    f"{name} is required for phone verification by the SMS backend "
                    f"{cls.__module__}.{cls.__qualname__}."
                ) from None

    @classmethod
    def _cannot_verify(cls) -> str:
        return f"The SMS backend {cls.__module__}.{cls.__qualname__} cannot verify phone numbers."

    def check_credentials(self) -> str:
        """Prove the credentials with the provider: what was proven, for people to read.

        Raises a ProviderError subclass when the provider refuses them.
        """
        return "not needed by this backend"

    def send(self, message: OutboundSMS) -> SendResult:
        raise NotImplementedError

    def find_sent(self, message: OutboundSMS, *, since: datetime) -> list[SendResult] | None:
        """Messages the provider holds with this recipient, sender and body, created since then.

        Lets a retry find out whether an attempt that seemed to fail was accepted after all.
        None: this backend cannot tell.
        """
        return None

    def fetch(self, provider_sid: str) -> SendResult | None:
        """The provider's current view of a message it took, for a status callback that never
        came (notifications.refresh). None: this backend cannot tell.

        Raises TransientProviderError or PermanentProviderError (e.g. an unknown SID) like send().
        """
        return None

    @classmethod
    def can_fetch(cls) -> bool:
        """Whether fetch() can ever tell: a backend that cannot is not asked at all."""
        return cls.fetch is not BaseSMSBackend.fetch

    def start_verification(self, *, to: str, channel: str) -> VerificationStarted:
        """Send a verification code to `to` (E.164) by `channel`.

        Raises TransientProviderError or PermanentProviderError like send(), with the
        provider's code (MAX_CHECK_ATTEMPTS while a code's checks are used up), and
        SMSConfigurationError when the backend cannot verify with the current settings.
        """
        raise SMSConfigurationError(self._cannot_verify())

    def check_verification(
        self, *, to: str, code: str, timeout: float | None = None
    ) -> VerificationChecked:
        """Check `code` against the pending verification of `to`; a wrong code is `pending`.

        `timeout`: the read timeout (s) of this call, for a backend that calls a provider.
        Raises PermanentProviderError with NO_PENDING_VERIFICATION when none is pending
        (expired, approved or canceled) and MAX_CHECK_ATTEMPTS after five checks of one code;
        otherwise as start_verification.
        """
        raise SMSConfigurationError(self._cannot_verify())
