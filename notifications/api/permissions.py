"""Who may send: staff, or users with the notifications.send_sms permission."""

from rest_framework.permissions import BasePermission


class CanSendSMS(BasePermission):
    message = "Sending SMS needs a staff account or the notifications.send_sms permission."

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and (user.is_staff or user.has_perm("notifications.send_sms"))
        )
