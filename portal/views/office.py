"""The placement office's pages: counts, the registration queue, jobs and their applications,
the SMS the portal sent."""

from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal import selectors, services
from portal.exceptions import JobAlreadyPosted, PortalError
from portal.forms import JobForm, StatusForm, status_label
from portal.models import Application, JobPosting, StudentProfile
from portal.views.chart import daily_chart
from portal.views.common import FORM_ERROR, show_error, staff_required

CHART_DAYS = 14
HISTORY_ROWS = 100


@require_GET
@staff_required
def home(request):
    context = {
        "counts": selectors.office_counts(),
        "outcomes": selectors.office_outcomes(CHART_DAYS),
        "days": CHART_DAYS,
    }
    return render(request, "portal/office/home.html", context)


@require_GET
@staff_required
def students(request):
    pending = selectors.pending_students()
    return render(request, "portal/office/students.html", {"students": pending})


@require_POST
@staff_required
def student_approve(request, student_id: int):
    profile = StudentProfile.objects.filter(pk=student_id).first()
    if profile is None:
        messages.warning(request, "This registration no longer exists: it was rejected.")
        return redirect("portal:office-students")
    try:
        services.student_approve(profile=profile, by=request.user)
    except PortalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, f"{profile.full_name} is approved; an SMS tells them.")
    return redirect("portal:office-students")


@require_POST
@staff_required
def student_reject(request, student_id: int):
    profile = StudentProfile.objects.filter(pk=student_id).first()
    if profile is None:
        # A second click: the first one rejected it and sent the one SMS.
        messages.info(request, "This registration was already rejected and removed.")
        return redirect("portal:office-students")
    try:
        services.student_reject(profile=profile, by=request.user)
    except PortalError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            f"The registration of {profile.full_name} is rejected and removed; an SMS tells them.",
        )
    return redirect("portal:office-students")


@require_GET
@staff_required
def jobs(request):
    return render(request, "portal/office/jobs.html", {"jobs": selectors.jobs_for_office()})


@require_http_methods(["GET", "POST"])
@staff_required
def job_new(request):
    status = 200
    if request.method == "POST":
        form = JobForm(request.POST)
        if form.is_valid():
            try:
                job = services.job_post(**form.cleaned_data, by=request.user)
            except JobAlreadyPosted as exc:
                # A second submit of the same posting: the first one stands, announced once.
                messages.info(request, "This job was already posted; here it is.")
                return redirect("portal:office-job", job_id=exc.job.pk)
            except PortalError as exc:
                status = show_error(form, exc)
            else:
                messages.success(
                    request, "The job is posted; its SMS to the eligible students is going out."
                )
                return redirect("portal:office-job", job_id=job.pk)
        else:
            status = FORM_ERROR
    else:
        form = JobForm()
    return render(request, "portal/office/job_new.html", {"form": form}, status=status)


@require_GET
@staff_required
def job_detail(request, job_id: int):
    job = get_object_or_404(JobPosting.objects.prefetch_related("departments"), pk=job_id)
    return render(request, "portal/office/job.html", job_context(job))


@require_POST
@staff_required
def job_close(request, job_id: int):
    job = get_object_or_404(JobPosting, pk=job_id)
    services.job_close(job=job, by=request.user)
    messages.success(request, "The job no longer takes applications.")
    return redirect("portal:office-job", job_id=job.pk)


@require_GET
@staff_required
def job_progress(request, job_id: int):
    """The job's announcement, for the page's progress bar (polled every 2 s)."""
    job = get_object_or_404(JobPosting, pk=job_id)
    return JsonResponse(progress_payload(selectors.job_progress(job)))


@require_POST
@staff_required
def application_status(request, application_id: int):
    """Move an application to its next status; refused changes are shown on the job's page."""
    application = get_object_or_404(
        Application.objects.select_related("student", "job"), pk=application_id
    )
    form = StatusForm(request.POST, application=application)
    if form.is_valid():
        to_status = form.cleaned_data["status"]
        try:
            services.application_change_status(
                application=application, to_status=to_status, by=request.user
            )
        except PortalError as exc:
            show_error(form, exc)
        else:
            messages.success(
                request,
                f"{application.student.full_name}'s application is {status_label(to_status)}; "
                "an SMS tells them.",
            )
            url = reverse("portal:office-job", kwargs={"job_id": application.job_id})
            return redirect(f"{url}#application-{application.pk}")
    job = JobPosting.objects.prefetch_related("departments").get(pk=application.job_id)
    return render(
        request, "portal/office/job.html", job_context(job, refused=form), status=FORM_ERROR
    )


@require_GET
@staff_required
def notifications(request):
    context = {
        "history": selectors.office_history(HISTORY_ROWS),
        "outcomes": selectors.office_outcomes(CHART_DAYS),
        "chart": daily_chart(selectors.office_daily(CHART_DAYS)),
        "days": CHART_DAYS,
    }
    return render(request, "portal/office/notifications.html", context)


def job_context(job: JobPosting, *, refused: StatusForm | None = None) -> dict:
    """The job page: its announcement's progress and its applications, each with a status
    form (`refused`, a form the office just posted, keeps its choice and its error)."""
    rows = []
    for application in selectors.job_applications(job):
        if refused is not None and refused.application.pk == application.pk:
            form = refused
        elif application.next_statuses:
            form = StatusForm(application=application)
        else:
            form = None
        rows.append((application, form))
    progress = selectors.job_progress(job)
    return {
        "job": job,
        "rows": rows,
        "progress": progress_payload(progress) if progress else None,
    }


def progress_payload(progress: dict | None) -> dict:
    """selectors.job_progress with a sentence for people (the bar's aria-valuetext too)."""
    if progress is None:
        return {"finished": True, "settled": True, "total": 0, "percent": 100, "text": "No SMS."}
    text = (
        f"{progress['done']} of {progress['total']} handed to the SMS provider"
        f" · {progress['delivered']} delivered · {progress['failed']} failed"
    )
    if progress["stopped"]:
        text += f" · {progress['stopped']} not sent"
    return {**progress, "text": text}
