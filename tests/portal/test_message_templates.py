"""Message templates: checked on save (placeholders, {portal}, segments at the longest plausible
rendering), measured GSM-7 or UCS-2, and rendered with the portal's name."""

import pytest
from django.core.exceptions import ValidationError

from notifications.segments import count_segments
from portal import messages
from portal.models import MessageTemplate
from portal.services import message_render

pytestmark = pytest.mark.django_db
Event = MessageTemplate.Event


def template(event=Event.APPLICATION_STATUS) -> MessageTemplate:
    return MessageTemplate.objects.get(event=event)


def refusal(body: str, event=Event.APPLICATION_STATUS) -> str:
    """The error the body gets on save (and nothing stored)."""
    row = template(event)
    before = row.body
    row.body = body
    with pytest.raises(ValidationError) as caught:
        row.save()
    assert template(event).body == before
    return " ".join(caught.value.message_dict["body"])


def test_a_valid_text_is_saved_with_its_encoding_and_segments():
    row = template()
    row.body = "{portal}: {title} – {status}"
    row.save()
    row.refresh_from_db()
    assert (row.body, row.encoding) == ("{portal}: {title} – {status}", "UCS-2")


def test_the_segments_are_counted_at_the_longest_plausible_rendering(settings):
    settings.PORTAL_NAME = "Placement Portal"
    row = template(Event.REGISTRATION_APPROVED)
    row.body = "{portal}: Hi {name}, you are approved."
    row.save()
    longest = "Placement Portal: Hi " + "W" * messages.FULL_NAME_MAX + ", you are approved."
    assert (row.encoding, row.segments) == ("GSM-7", count_segments(longest).segments) == (
        "GSM-7", 1
    )  # fmt: skip
    row.body = "{portal}: Hi {name}, you are approved. " + "x" * 60
    row.save()
    assert row.segments == 2  # 161 septets with the longest name: one segment with a short one


def test_a_non_gsm_character_makes_it_ucs2_and_counts_70_per_segment():
    row = template(Event.REGISTRATION_APPROVED)
    row.body = "{portal}: Hi {name}, you are approved 🎉"
    row.save()
    assert row.encoding == "UCS-2" and row.segments == 2  # about 110 UTF-16 units
    assert messages.non_gsm_characters(row.body) == ["🎉"]


def test_the_portal_name_is_part_of_the_measure(settings):
    settings.PORTAL_NAME = "प्लेसमेंट पोर्टल"
    row = template(Event.REGISTRATION_APPROVED)
    row.body = "{portal}: you are approved."
    row.save()
    assert row.encoding == "UCS-2"


def test_a_text_longer_than_the_segment_limit_is_refused(settings):
    settings.PORTAL_MAX_TEMPLATE_SEGMENTS = 1
    error = refusal(messages.DEFAULT_BODIES[Event.APPLICATION_STATUS])
    assert "takes 2 SMS segments (GSM-7); at most 1 are allowed" in error
    settings.PORTAL_MAX_TEMPLATE_SEGMENTS = 3
    error = refusal("{portal} {title} {status} " + "é€" * 200)
    assert "at most 3 are allowed" in error


def test_a_ucs2_text_too_long_suggests_gsm7(settings):
    error = refusal("{portal} {title} {status} " + "🎉" * 80)
    assert "(UCS-2)" in error and "use only GSM-7 characters" in error


def test_the_portal_name_is_required():
    error = refusal("Your application for {title} is now {status}.")
    assert error == "The message must include {portal}."


def test_the_events_other_required_placeholders_are_required():
    assert refusal("{portal}: news about {title}.") == "The message must include {status}."
    error = refusal("{portal}: {company} is hiring.", Event.JOB_POSTED)
    assert error == "The message must include {title}."


def test_an_unknown_placeholder_is_refused_naming_the_allowed_ones():
    error = refusal("{portal}: {title} {status} {roll_number}")
    assert error == (
        "Unknown placeholder(s): {roll_number}. This message may use: {portal}, {name}, "
        "{company}, {title}, {status}."
    )
    error = refusal("{portal}: {name}, {status}", Event.REGISTRATION_APPROVED)
    assert "Unknown placeholder(s): {status}." in error


@pytest.mark.parametrize(
    "placeholder", ["{}", "{0}", "{name.upper}", "{name[0]}", "{name:>300}", "{name!r}"]
)
def test_only_plain_named_placeholders_are_allowed(placeholder):
    error = refusal("{portal} {title} {status} " + placeholder)
    assert error.startswith("Write each placeholder as a plain name in braces, like {name}")
    assert placeholder in error


def test_an_unpaired_brace_is_refused_and_a_doubled_one_is_a_brace():
    assert "A brace is not paired" in refusal("{portal} {title} {status} }")
    assert "A brace is not paired" in refusal("{portal {title} {status}")
    row = template()
    row.body = "{portal}: {{{title}}} is {status}"
    row.save()
    assert message_render(
        Event.APPLICATION_STATUS, name="A", company="B", title="SDE", status="Interview"
    ).endswith("{SDE} is Interview")


def test_an_empty_text_is_refused():
    assert refusal("   ") == "The message is empty."


def test_rendering_fills_in_the_portal_name_and_the_values(settings):
    settings.PORTAL_NAME = "IIT Demo Placements"
    assert message_render(Event.REGISTRATION_APPROVED, name="Asha Rao") == (
        "IIT Demo Placements: Hi Asha Rao, your registration is approved. Log in to see the "
        "jobs open to you and apply."
    )


def test_rendering_uses_the_offices_text():
    row = template(Event.REGISTRATION_APPROVED)
    row.body = "{portal}: welcome aboard, {name}!"
    row.save()
    assert message_render(Event.REGISTRATION_APPROVED, name="Ravi") == (
        "Placement Portal: welcome aboard, Ravi!"
    )


def test_rendering_falls_back_to_the_default_text_when_the_row_is_gone():
    MessageTemplate.objects.filter(event=Event.REGISTRATION_APPROVED).delete()
    assert message_render(Event.REGISTRATION_APPROVED, name="Ravi").startswith(
        "Placement Portal: Hi Ravi, your registration is approved."
    )


def test_rendering_needs_every_value_of_the_event():
    with pytest.raises(TypeError):
        message_render(Event.APPLICATION_STATUS, name="Ravi", title="SDE")
    with pytest.raises(TypeError):
        message_render(Event.REGISTRATION_APPROVED, name="Ravi", title="SDE")
