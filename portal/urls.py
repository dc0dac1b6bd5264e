"""The portal's pages, under /portal/: students at the top, the placement office under office/."""

from django.urls import path

from portal.views import auth, office, student

app_name = "portal"

urlpatterns = [
    # Students (and registering)
    path("", student.dashboard, name="dashboard"),
    path("register/", auth.register, name="register"),
    path("register/verify/", auth.register_verify, name="register-verify"),
    path("login/", auth.PortalLoginView.as_view(), name="login"),
    path("logout/", auth.PortalLogoutView.as_view(), name="logout"),
    path("jobs/<int:job_id>/", student.job_detail, name="job"),
    path("applications/", student.applications, name="applications"),
    path(
        "applications/<int:application_id>/",
        student.application_detail,
        name="application",
    ),
    path("notifications/", student.notifications, name="notifications"),
    path("profile/", student.profile_edit, name="profile"),
    path("profile/phone/", student.phone_change, name="phone"),
    path("profile/phone/verify/", student.phone_verify, name="phone-verify"),
    # The placement office (staff)
    path("office/", office.home, name="office"),
    path("office/students/", office.students, name="office-students"),
    path(
        "office/students/<int:student_id>/approve/",
        office.student_approve,
        name="office-student-approve",
    ),
    path(
        "office/students/<int:student_id>/reject/",
        office.student_reject,
        name="office-student-reject",
    ),
    path("office/jobs/", office.jobs, name="office-jobs"),
    path("office/jobs/new/", office.job_new, name="office-job-new"),
    path("office/jobs/<int:job_id>/", office.job_detail, name="office-job"),
    path("office/jobs/<int:job_id>/close/", office.job_close, name="office-job-close"),
    path("office/jobs/<int:job_id>/progress.json", office.job_progress, name="office-job-progress"),
    path(
        "office/applications/<int:application_id>/status/",
        office.application_status,
        name="office-application-status",
    ),
    path("office/notifications/", office.notifications, name="office-notifications"),
]
