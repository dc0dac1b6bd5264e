"""The backend interface: send one message, return the provider SID and a normalized status."""

from dataclasses import dataclass, field
from datetime import datetime

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


class BaseSMSBackend:
    """Subclasses implement send(); it raises TransientProviderError or PermanentProviderError."""

    def __init__(self, **kwargs) -> None:
        pass

    def send(self, message: OutboundSMS) -> SendResult:
        raise NotImplementedError

    def find_sent(self, message: OutboundSMS, *, since: datetime) -> list[SendResult] | None:
        """Messages the provider holds with this recipient, sender and body, created since then.

        Lets a retry find out whether an attempt that seemed to fail was accepted after all.
        None: this backend cannot tell.
        """
        return None
