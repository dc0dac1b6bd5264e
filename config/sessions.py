"""Sessions in the database, refusing keys Django never issues before they reach a query."""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore


class SessionStore(DatabaseSessionStore):
    """Django's database sessions; a cookie whose key holds a character Django never puts in
    one (a NUL decoded from `\\000`, which PostgreSQL refuses even in a lookup) is no session,
    as an unknown key is, instead of a 500."""

    def _validate_session_key(self, key):
        return super()._validate_session_key(key) and set(key) <= set(VALID_KEY_CHARS)
