"""Every error of the notifications app: domain errors (API envelope codes) and provider errors."""

from django.core.exceptions import ImproperlyConfigured


class SMSConfigurationError(ImproperlyConfigured):
    """A missing or wrong setting; kept apart from SMSError so that nothing swallows it."""


class SMSError(Exception):
    """A domain error that the API turns into the error envelope."""

    code = "sms_error"
    http_status = 400
    field: str | None = None
    retry_after: float | None = None  # seconds; the handler adds the Retry-After header

    def __init__(self, message: str, *, details: dict | None = None):
        super().__init__(message)
        self.message = message
        self.details = details or ({self.field: [message]} if self.field else {})


class InvalidPhoneNumber(SMSError):
    code = "invalid_phone_number"
    field = "to"


class InvalidMessageBody(SMSError):
    code = "invalid_body"
    field = "body"


class IdempotencyConflict(SMSError):
    code = "idempotency_conflict"
    http_status = 409
    field = "idempotency_key"


class InvalidRecipients(SMSError):
    """A bulk's `recipients` is not a list, or holds no valid phone number."""

    code = "invalid_recipients"
    field = "recipients"

    def __init__(self, message: str, *, details: dict | None = None, rejected=None):
        super().__init__(message, details=details)
        if rejected:
            self.details = {**self.details, "rejected": rejected}


class TooManyRecipients(SMSError):
    """More recipients than SMS_BULK_MAX_RECIPIENTS in one request."""

    code = "too_many_recipients"
    field = "recipients"

    def __init__(self, message: str, *, limit: int):
        super().__init__(message)
        self.details = {**self.details, "max_recipients": limit}


class BulkFinished(SMSError):
    """A completed bulk cannot be canceled: everything was already handed to the provider."""

    code = "bulk_finished"
    http_status = 409


class ProviderError(Exception):
    """The provider refused or could not take a request.

    `code` is the provider's error code (Twilio's numeric code as a string) when there is one.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str = "",
        http_status: int | None = None,
        retry_after: float | None = None,
        raw: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.http_status = http_status
        self.retry_after = retry_after
        self.raw = raw or {}


class TransientProviderError(ProviderError):
    """Worth retrying later: network trouble, timeouts, 5xx, rate limiting (429/20429)."""


class PermanentProviderError(ProviderError):
    """Retrying cannot help: invalid or opted-out number, no permission, bad credentials."""


# --- Phone verification (Twilio Verify) -----------------------------------------------------


class InvalidVerificationChannel(SMSError):
    code = "invalid_channel"
    field = "channel"


class InvalidVerificationCode(SMSError):
    """The code is not 4 to 10 digits; refused before any provider call (it is never echoed)."""

    code = "invalid_code"
    field = "code"


class CountryNotAllowed(SMSError):
    """The number's country is not in SMS_VERIFY_ALLOWED_COUNTRIES (SMS pumping defence)."""

    code = "country_not_allowed"
    field = "phone_number"


class RateLimited(SMSError):
    """A verification throttle refused the request: 429 with Retry-After.

    `retry_after` is the whole number of seconds until the refusing limit lets a request
    through again; `limit` names that limit (recorded in the audit, shown in `details`).
    """

    code = "throttled"
    http_status = 429

    def __init__(self, message: str, *, retry_after: int, limit: str):
        super().__init__(message, details={"limit": limit})
        self.retry_after = retry_after
        self.limit = limit


class ProviderUnavailable(SMSError):
    """The provider could not be reached or failed transiently while a user was waiting."""

    code = "provider_unavailable"
    http_status = 503

    def __init__(self, message: str, *, retry_after: int | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(SMSError):
    """A part the request cannot go without (Redis) is down; nothing was recorded."""

    code = "service_unavailable"
    http_status = 503

    def __init__(self, message: str = "The service is unavailable; try again shortly.", *,
                 retry_after: int = 5):  # fmt: skip
        super().__init__(message, details={"retry_after": retry_after})
        self.retry_after = retry_after


class VerificationProviderError(SMSError):
    """The provider refused a verification request for a reason the user cannot fix."""

    code = "provider_error"
    http_status = 502
