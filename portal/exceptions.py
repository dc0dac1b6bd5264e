"""Every error of the portal's services: a cause a person can fix, shown on a form.

`field` names the service argument the error is about (a form with the same field names shows
it there), or is None for an error about the whole request. Notifications' own errors
(InvalidPhoneNumber, CountryNotAllowed, RateLimited, ProviderUnavailable, ...) are not wrapped:
they propagate from the services unchanged.
"""


class PortalError(Exception):
    field: str | None = None

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        if field is not None:
            self.field = field


def check_length(value: str, limit: int, *, field: str, what: str) -> str:
    """`value`, or a PortalError on `field` when it is longer than the column holds."""
    if len(value) > limit:
        raise PortalError(f"{what} is at most {limit} characters long.", field=field)
    return value


# --- Registration and profile ----------------------------------------------------------


class UsernameTaken(PortalError):
    field = "username"


class RollNumberTaken(PortalError):
    field = "roll_number"


class PhoneAlreadyUsed(PortalError):
    field = "phone"


class PhoneUnchanged(PortalError):
    field = "phone"


class InvalidPassword(PortalError):
    """Django's password validators refused it; `messages` lists what each one said."""

    field = "password"

    def __init__(self, messages: list[str]):
        super().__init__(" ".join(messages))
        self.messages = messages


class CodeNotApproved(PortalError):
    """The verification code was not accepted; `status` is the Verify status (pending for a
    wrong code, expired, max_attempts_reached, canceled)."""

    field = "code"

    def __init__(self, message: str, *, status: str):
        super().__init__(message)
        self.status = status


class RegistrationExpired(PortalError):
    """The pending registration kept in the session is missing or unreadable: start again."""


class ProfileLocked(PortalError):
    """An approved student's department and graduation year decide which jobs they see: only
    the placement office changes them."""


# --- The placement office's decisions ---------------------------------------------------


class StudentNotFound(PortalError):
    """The registration is gone (rejected meanwhile)."""


class AlreadyApproved(PortalError):
    """An approved student is not rejected: the office removes them in the admin if it must."""


class NoEligibleStudents(PortalError):
    field = "departments"


class JobAlreadyPosted(PortalError):
    """The same company, title and deadline were already posted (a double submit); `job` is
    the posting that exists."""

    def __init__(self, message: str, *, job):
        super().__init__(message)
        self.job = job


# --- Applications -----------------------------------------------------------------------


class NotApproved(PortalError):
    """A student whose registration is not approved yet cannot apply."""


class ApplicationsClosed(PortalError):
    """The job is closed, or its deadline has passed."""


class NotEligible(PortalError):
    """The job is not open to the student's department or graduation year."""


class AlreadyApplied(PortalError):
    pass


class StatusChangeNotAllowed(PortalError):
    """The change skips the allowed order; `allowed` lists the statuses it may move to next."""

    field = "status"

    def __init__(self, message: str, *, allowed: list[str]):
        super().__init__(message)
        self.allowed = allowed
