"""Seed the departments and each event's default message text (a frozen copy: later edits to
portal.messages.DEFAULT_BODIES do not rewrite what an existing database was given)."""

from django.db import migrations

DEPARTMENTS = [
    ("CSE", "Computer Science and Engineering"),
    ("ECE", "Electronics and Communication Engineering"),
    ("ME", "Mechanical Engineering"),
    ("CE", "Civil Engineering"),
    ("EE", "Electrical Engineering"),
    ("IT", "Information Technology"),
]

BODIES = {
    "registration_received": (
        "{portal}: Hi {name}, your phone is verified and your registration is waiting for the "
        "placement office's approval. We will text you when it is reviewed."
    ),
    "registration_approved": (
        "{portal}: Hi {name}, your registration is approved. Log in to see the jobs open to you "
        "and apply."
    ),
    "registration_rejected": (
        "{portal}: Hi {name}, your registration was not approved. Please contact the placement "
        "office if you think this is a mistake."
    ),
    "job_posted": (
        "{portal}: {company} is hiring: {title}. Apply by {deadline}. Log in to see the details."
    ),
    "application_received": (
        "{portal}: Hi {name}, we received your application for {title} at {company}."
    ),
    "application_status": (
        "{portal}: Hi {name}, your application for {title} at {company} is now: {status}."
    ),
}


def seed(apps, schema_editor):
    from portal.messages import measure

    Department = apps.get_model("portal", "Department")
    MessageTemplate = apps.get_model("portal", "MessageTemplate")
    for code, name in DEPARTMENTS:
        Department.objects.get_or_create(code=code, defaults={"name": name})
    for event, body in BODIES.items():
        info = measure(body)
        MessageTemplate.objects.get_or_create(
            event=event,
            defaults={"body": body, "encoding": info.encoding, "segments": info.segments},
        )


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
