"""`manage.py seed_demo`: a demo staff user, its API token and the portal's demo data (students,
jobs, applications) for local development. Idempotent; development only.

The demo data is written directly, not through the portal's services: it is the state a demo
starts from, not events, so it sends no SMS (every SMS of the demo is one a person causes).
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone
from rest_framework.authtoken.models import Token

from portal.models import (
    Application,
    ApplicationStatusChange,
    Department,
    JobPosting,
    StudentProfile,
)

DEMO_USERNAME = "admin"
DEMO_PASSWORD = "admin"
Status = Application.Status

# username, password, full name, roll number, department, graduation year, phone, approved
STUDENTS = [
    ("asha", "student-demo-1", "Asha Rao", "CSE2026001", "CSE", 2026, "+919812300001", True),
    ("ravi", "student-demo-2", "Ravi Kumar", "ME2026014", "ME", 2026, "+919812300002", True),
    ("meera", "student-demo-3", "Meera Iyer", "ECE2027007", "ECE", 2027, "+919812300003", False),
]
# company, title, departments, minimum graduation year, deadline in days (negative: passed), open
JOBS = [
    ("Northwind Systems", "Graduate Software Engineer", ("CSE", "IT", "ECE"), 2026, 14, True),
    ("Contoso Motors", "Graduate Engineer Trainee", ("ME", "EE", "CE"), 2026, 21, True),
    ("Fabrikam Labs", "Embedded Systems Intern", ("CSE", "ECE", "EE", "ME"), 2026, -3, True),
]
# student, job (by company), the statuses it went through after "applied"
APPLICATIONS = [
    ("asha", "Northwind Systems", [Status.SHORTLISTED]),
    ("asha", "Fabrikam Labs", [Status.SHORTLISTED, Status.INTERVIEW, Status.SELECTED]),
    ("ravi", "Contoso Motors", []),
    ("ravi", "Fabrikam Labs", [Status.REJECTED]),
]
# The seeded departments (migration 0002), in case this database lost them.
DEPARTMENTS = {
    "CSE": "Computer Science and Engineering",
    "ECE": "Electronics and Communication Engineering",
    "ME": "Mechanical Engineering",
    "CE": "Civil Engineering",
    "EE": "Electrical Engineering",
    "IT": "Information Technology",
}


class Command(BaseCommand):
    help = (
        "Create the demo staff user (admin/admin), print its API token, and add the portal's "
        "demo students, jobs and applications (no SMS is sent). Development only."
    )

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError(
                "seed_demo creates a known password: it runs only with DJANGO_DEBUG=true."
            )
        User = get_user_model()
        user, created = User.objects.get_or_create(
            username=DEMO_USERNAME, defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save()
        token, _ = Token.objects.get_or_create(user=user)
        with transaction.atomic():
            created_count = self.seed_portal(staff=user)
        self.stdout.write(f"  Demo staff login   {DEMO_USERNAME} / {DEMO_PASSWORD}")
        self.stdout.write(f"  Demo API token     {token.key}")
        for username, password, name, *_rest, approved in STUDENTS:
            state = "approved" if approved else "waiting for approval"
            self.stdout.write(f"  Demo student login {username} / {password}   ({name}, {state})")
        if created_count:
            self.stdout.write(f"  Portal demo data: {created_count} record(s) created, no SMS sent")

    def seed_portal(self, *, staff) -> int:
        """Create what is missing; returns how many records were created."""
        User = get_user_model()
        created = 0
        departments = {}
        for code, name in DEPARTMENTS.items():
            departments[code], new = Department.objects.get_or_create(
                code=code, defaults={"name": name}
            )
            created += new
        now = timezone.now()
        students = {}
        for username, password, name, roll, department, year, phone, approved in STUDENTS:
            user, new = User.objects.get_or_create(username=username)
            if new:
                user.set_password(password)
                user.save()
            students[username], new_profile = StudentProfile.objects.get_or_create(
                user=user,
                defaults={
                    "full_name": name,
                    "roll_number": roll,
                    "department": departments[department],
                    "graduation_year": year,
                    "phone": phone,
                    "phone_verified": True,
                    "is_approved": approved,
                    "approved_at": now if approved else None,
                    "approved_by": staff if approved else None,
                },
            )
            created += new + new_profile
        jobs = {}
        for company, title, codes, year, days, is_open in JOBS:
            jobs[company], new = JobPosting.objects.get_or_create(
                company=company,
                title=title,
                defaults={
                    "description": f"{title} at {company}. Demo posting.",
                    "min_graduation_year": year,
                    "deadline": now + timedelta(days=days),
                    "is_open": is_open,
                    "posted_by": staff,
                },
            )
            if new:
                jobs[company].departments.set([departments[code] for code in codes])
                created += 1
        for username, company, steps in APPLICATIONS:
            student = students[username]
            status = steps[-1] if steps else Status.APPLIED
            application, new = Application.objects.get_or_create(
                student=student, job=jobs[company], defaults={"status": status}
            )
            if not new:
                continue
            created += 1
            history = [("", Status.APPLIED, student.user)]
            previous = Status.APPLIED
            for status in steps:
                history.append((previous, status, staff))
                previous = status
            ApplicationStatusChange.objects.bulk_create(
                ApplicationStatusChange(
                    application=application,
                    from_status=before,
                    to_status=after,
                    changed_by=by,
                    changed_at=now - timedelta(days=len(history) - index),
                )
                for index, (before, after, by) in enumerate(history)
            )
        return created
