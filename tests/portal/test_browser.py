"""The portal's story in a real browser (Debian's Chromium via Playwright): a student registers
with the code from the sandbox inbox, the office approves, posts a job and shortlists, and every
SMS reaches the sandbox and shows on the student's pages as delivered.

Everything is real: the live server, the in-process Celery worker, Redis, PostgreSQL, and the
Twilio sandbox, whose status callbacks reach the live server (PUBLIC_BASE_URL). Screenshots of
the main pages go to test-artifacts/screenshots/ (gitignored).
"""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from portal import services
from portal.models import StudentProfile
from tests.browser import VIEWPORT, browser_page
from tests.helpers import wait_for

# The live server's and the worker's threads must see the rows: they are committed.
pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
WAIT_MS = 30_000  # a page or a click on a loaded 2-core machine
SMS_WAIT = 60  # s: an SMS through the worker and the sandbox, its callbacks back to the server
PHONE = "+919812345610"
STUDENT_PASSWORD = "pw-student-123"  # make_student's
STAFF_PASSWORD = "pw-office-123"
CODE = re.compile(r"verification code is: (\d+)")


@pytest.fixture(autouse=True)
def _orm_beside_playwright(monkeypatch):
    """Playwright's sync API runs an event loop in this thread, and Django then refuses ORM
    calls here; the tests read the database between clicks (the app never sees this)."""
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def portal(celery_worker, sandbox, live_server, settings):
    """The live server's URL, with the sandbox's status callbacks pointed at it."""
    settings.PUBLIC_BASE_URL = live_server.url
    return live_server.url


@pytest.fixture
def page() -> Page:
    with browser_page() as page:
        page.set_default_timeout(WAIT_MS)
        yield page


@pytest.fixture
def office(django_user_model):
    return django_user_model.objects.create_user(
        "placement", password=STAFF_PASSWORD, is_staff=True
    )


def second_page(page: Page) -> Page:
    """A page with its own cookies in the same browser: a second person."""
    other = page.context.browser.new_page(viewport=VIEWPORT)
    other.set_default_timeout(WAIT_MS)
    return other


def screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def log_in(page: Page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/portal/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/portal/(office/)?$"))


def reload_until(page: Page, selector: str, *, what: str, timeout: float = SMS_WAIT) -> None:
    """Reload the page until `selector` shows: a server-rendered status that changes later."""

    def shows() -> bool:
        page.reload()
        return page.locator(selector).count() > 0

    wait_for(shows, timeout=timeout, interval=0.5, what=what)


def inbox(sandbox, to: str, containing: str) -> list[dict]:
    """The sandbox's messages to `to` whose body contains `containing`, once there is one."""
    return wait_for(
        lambda: [m for m in sandbox.messages(to=to) if containing in m["body"]],
        timeout=SMS_WAIT,
        what=f"an SMS to {to} with {containing!r} in the sandbox inbox",
    )


def fill_registration(page: Page, *, phone: str) -> None:
    page.get_by_label("Username").fill("asha")
    page.get_by_label("Password", exact=True).fill("kestrel-harbour-58")
    page.get_by_label("Password again").fill("kestrel-harbour-58")
    page.get_by_label("Full name").fill("Asha Rao")
    page.get_by_label("Roll number").fill("CSE2026001")
    page.get_by_label("Department").select_option(label="CSE (Computer Science and Engineering)")
    page.get_by_label("Graduation year").fill("2026")
    page.get_by_label("Mobile number").fill(phone)


# --- 1. Registering -----------------------------------------------------------------------------


def test_a_student_registers_with_the_code_from_the_sandbox_and_waits_for_approval(
    portal, sandbox, departments, page
):
    page.goto(f"{portal}/portal/register/")
    fill_registration(page, phone="98123 45610")
    screenshot(page, "01-register")
    page.get_by_role("button", name="Send me a code").click()

    page.wait_for_url("**/portal/register/verify/")
    expect(page.get_by_test_id("pending-phone")).to_have_text("+9198******10")
    assert not StudentProfile.objects.exists()  # nothing is stored before the code
    [sms] = inbox(sandbox, PHONE, "verification code")
    code = CODE.search(sms["body"]).group(1)
    page.get_by_label("Code from the SMS").fill(code)
    screenshot(page, "02-register-verify")
    page.get_by_role("button", name="Verify and register").click()

    page.wait_for_url(re.compile(r"/portal/$"))
    expect(page.get_by_test_id("approval-state")).to_have_attribute("data-approved", "false")
    expect(page.get_by_test_id("approval-state")).to_contain_text("Waiting for approval")
    expect(page.get_by_role("heading", level=1)).to_have_text("Hello, Asha Rao")
    profile = StudentProfile.objects.get()
    assert (profile.phone, profile.phone_verified, profile.is_approved) == (PHONE, True, False)
    inbox(sandbox, PHONE, "waiting for the placement office's approval")
    reload_until(
        page,
        "#recent-sms [data-event=registration_received] [data-status=delivered]",
        what="the registration's SMS delivered on the dashboard",
    )
    screenshot(page, "03-student-dashboard-pending")


def test_a_bad_phone_number_keeps_what_was_typed_and_says_what_is_wrong(
    live_server, departments, page
):
    page.goto(f"{live_server.url}/portal/register/")
    fill_registration(page, phone="98123 456")
    page.get_by_role("button", name="Send me a code").click()

    phone = page.get_by_label("Mobile number")
    expect(page.locator("#id_phone_error")).to_have_text("This phone number is not valid.")
    expect(phone).to_have_value("98123 456")
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(phone).to_be_focused()
    expect(page.get_by_label("Full name")).to_have_value("Asha Rao")
    expect(page.get_by_label("Department")).to_have_value(str(departments["CSE"].pk))
    assert page.url == f"{live_server.url}/portal/register/"
    screenshot(page, "04-register-bad-phone")
    assert not StudentProfile.objects.exists()


# --- 2. The office approves ---------------------------------------------------------------------


def test_the_office_approves_and_the_student_sees_the_approval_sms_delivered(
    portal, sandbox, office, make_student, page
):
    asha = make_student("Asha Rao", approved=False, username="asha")
    others = [
        make_student("Ravi Kumar", department="ECE", approved=False),
        make_student("Meera Iyer", department="ME", graduation_year=2027, approved=False),
    ]

    log_in(page, portal, "placement", STAFF_PASSWORD)
    page.get_by_role("link", name="Students").click()
    page.wait_for_url("**/portal/office/students/")
    expect(page.get_by_test_id("pending-student")).to_have_count(3)
    screenshot(page, "05-office-students")
    page.get_by_role("button", name="Approve Asha Rao", exact=True).click()

    expect(page.locator(".flash-success")).to_have_text("Asha Rao is approved; an SMS tells them.")
    expect(page.get_by_test_id("pending-student")).to_have_count(2)
    [sms] = inbox(sandbox, asha.phone, "registration is approved")
    assert sms["body"].startswith("Placement Portal: Hi Asha Rao")
    assert not any(sandbox.messages(to=other.phone) for other in others)

    student = second_page(page)
    log_in(student, portal, "asha", STUDENT_PASSWORD)
    expect(student.get_by_test_id("approval-state")).to_have_attribute("data-approved", "true")
    reload_until(
        student,
        "#recent-sms [data-event=registration_approved] [data-status=delivered]",
        what="the approval SMS delivered on the dashboard",
    )
    screenshot(student, "06-student-dashboard-approved")
    student.get_by_role("link", name="All your SMS").click()
    row = student.locator("#sms-history [data-event=registration_approved]")
    expect(row.locator("[data-status=delivered]")).to_have_text("delivered")
    expect(row).to_contain_text(sms["body"])
    screenshot(student, "07-student-notifications")


# --- 3. The office posts a job ------------------------------------------------------------------


def test_a_posted_job_reaches_every_eligible_student_and_no_one_else(
    portal, sandbox, office, make_student, page
):
    eligible = [
        make_student("Asha Rao", username="asha"),
        make_student("Kiran Das", graduation_year=2027),
        make_student("Farah Khan", graduation_year=2028),
    ]
    make_student("Anil Menon", graduation_year=2025)  # graduates too early
    make_student("Ravi Kumar", department="ECE")  # another department
    make_student("Divya Nair", department="IT", graduation_year=2027)
    make_student("Meera Iyer", approved=False)  # not approved yet

    log_in(page, portal, "placement", STAFF_PASSWORD)
    page.get_by_role("button", name="Post a job").click()  # a link styled as a button
    page.get_by_label("Company").fill("Northwind Systems")
    page.get_by_label("Job title").fill("Graduate Software Engineer")
    page.get_by_label("Description").fill("Backend services in Python; based in Bengaluru.")
    page.get_by_label("CSE (Computer Science and Engineering)").check()
    page.get_by_label("Graduating in or after").fill("2026")
    deadline = timezone.now() + timedelta(days=14)
    page.get_by_label("Applications close").fill(deadline.strftime("%Y-%m-%dT17:00"))
    page.get_by_role("button", name="Post and notify students").click()

    page.wait_for_url(re.compile(r"/portal/office/jobs/\d+/$"))
    bar = page.get_by_role("progressbar")
    # The page polls its progress until every SMS is delivered (the sandbox's callbacks).
    expect(bar).to_have_attribute("data-finished", "true", timeout=SMS_WAIT * 1000)
    expect(bar).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("[data-progress=total]")).to_have_text("3")
    expect(page.locator("[data-progress=delivered]")).to_have_text("3")
    expect(page.locator("[data-progress=failed]")).to_have_text("0")
    screenshot(page, "08-office-job-progress")

    received = [m for m in sandbox.messages() if "Graduate Software Engineer" in m["body"]]
    assert sorted(m["to"] for m in received) == sorted(s.phone for s in eligible)
    assert len(sandbox.messages()) == 3  # nothing to anyone else

    page.get_by_role("link", name="SMS", exact=True).click()
    expect(page.get_by_test_id("sms-chart").locator("rect.bar")).to_have_count(1)
    expect(page.locator("#office-sms [data-event=job_posted]")).to_have_count(3)
    screenshot(page, "09-office-notifications")

    student = second_page(page)
    log_in(student, portal, "asha", STUDENT_PASSWORD)
    expect(student.locator("#open-jobs")).to_contain_text("Graduate Software Engineer")
    expect(
        student.locator("#recent-sms [data-event=job_posted] [data-status=delivered]")
    ).to_have_count(1)


# --- 4. The office moves an application ---------------------------------------------------------


def test_a_shortlisted_student_gets_the_sms_and_sees_the_new_status(
    portal, sandbox, office, make_student, make_job, page
):
    asha = make_student("Asha Rao", username="asha")
    job = make_job("Graduate Software Engineer", company="Northwind Systems")
    application = services.application_create(student=asha, job=job)
    inbox(sandbox, asha.phone, "we received your application")

    log_in(page, portal, "placement", STAFF_PASSWORD)
    page.goto(f"{portal}/portal/office/jobs/{job.pk}/")
    row = page.locator(f"#application-{application.pk}")
    expect(row.locator(".badge")).to_have_text("Applied")
    row.get_by_label("New status for Asha Rao").select_option(label="Shortlisted")
    row.get_by_role("button", name="Update Asha Rao").click()

    expect(page.locator(".flash-success")).to_have_text(
        "Asha Rao's application is shortlisted; an SMS tells them."
    )
    expect(row.locator(".badge")).to_have_text("Shortlisted")
    screenshot(page, "10-office-job-applications")
    [sms] = inbox(sandbox, asha.phone, "is now: Shortlisted")
    assert "Graduate Software Engineer at Northwind Systems" in sms["body"]

    student = second_page(page)
    log_in(student, portal, "asha", STUDENT_PASSWORD)
    expect(student.locator(f"#application-{application.pk} .badge")).to_have_text("Shortlisted")
    reload_until(
        student,
        "#recent-sms [data-event=application_status] [data-status=delivered]",
        what="the status SMS delivered on the dashboard",
    )
    screenshot(student, "11-student-dashboard-shortlisted")
    student.locator("#applications-table").get_by_role("link").click()
    history = student.get_by_role("list", name="History of this application")
    expect(history).to_contain_text("Applied → Shortlisted")
