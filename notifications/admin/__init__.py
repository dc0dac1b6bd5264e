"""Read-only admin for the audit trail: SMS logs, bulk sends, webhook events, opt-outs,
verifications (notifications.admin.audit), and bulk sends with their progress
(notifications.admin.bulks); the common ground is notifications.admin.base."""

from notifications.admin import audit, bulks  # noqa: F401 (they register the model admins)
