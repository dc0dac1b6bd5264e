"""The text of each event's SMS, and sending it: the one way the portal's SMS go out."""

from notifications import services as notifications
from portal import conf, messages
from portal.models import MessageTemplate


def message_render(event: str, **values) -> str:
    """The event's message with `values` and the portal's name filled in.

    Every placeholder of the event but {portal} must be given (TypeError otherwise). The
    office's text is used; the default text if its row is missing.
    """
    expected = set(messages.PLACEHOLDERS[event]) - {"portal"}
    if set(values) != expected:
        raise TypeError(f"{event} takes {sorted(expected)}, got {sorted(values)}")
    body = MessageTemplate.objects.filter(event=event).values_list("body", flat=True).first()
    values = {name: str(value) for name, value in values.items()}
    return messages.render(body or messages.DEFAULT_BODIES[event], {
        **values, "portal": conf.get("PORTAL_NAME")
    })  # fmt: skip


def notify(*, event: str, to: str, key: str, reference: str, ids: dict, **values):
    """Record the event's SMS (sent once the caller's transaction commits); idempotent on key."""
    return notifications.send_sms(
        to=to,
        body=message_render(event, **values),
        idempotency_key=key,
        reference=reference,
        metadata={"event": event, **ids},
    )
