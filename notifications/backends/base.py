"""The backend interface: send one message, return the provider SID and a normalized status."""

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


class BaseSMSBackend:
    """Subclasses implement send(); it raises TransientProviderError or PermanentProviderError.

    A backend says what it needs (required_settings, check) and can prove its credentials
    (check_credentials): the system checks and `test_sms` ask it, whatever its name.
    """

    #: Settings that must not be empty for this backend to send (notifications.E003).
    required_settings: tuple[str, ...] = ()

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
        return errors

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
