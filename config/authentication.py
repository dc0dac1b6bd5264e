"""API authentication: DRF's tokens, refusing keys DRF never issues before they reach a query."""

from rest_framework import authentication, exceptions


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's token authentication; a key that is not the hexadecimal DRF issues (a NUL, which
    PostgreSQL refuses even in a lookup) is an invalid token, as an unknown key is."""

    def authenticate_credentials(self, key):
        if not (key.isascii() and key.isalnum()):
            raise exceptions.AuthenticationFailed("Invalid token.")
        return super().authenticate_credentials(key)
