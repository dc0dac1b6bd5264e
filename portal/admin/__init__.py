"""The office's admin: the same decisions as the portal's office pages, through the same services
(so every one of them sends its SMS once), with every phone number masked. One module per
subject: students (and departments), jobs, applications, message texts."""

from portal.admin import applications, jobs, students, texts  # noqa: F401 (they register)
