"""WSGI entry point: `config.wsgi:application`."""

import io
import os

from django.conf import settings
from django.core.wsgi import get_wsgi_application


class ChunkedBodyLength:
    """A chunked request body (no Content-Length) gets one, so that Django reads it.

    Django reads only as many bytes as CONTENT_LENGTH says, so under a server that decodes
    chunked bodies (gunicorn, which sets `wsgi.input_terminated`) such a body was silently
    empty. At most DATA_UPLOAD_MAX_MEMORY_SIZE + 1 bytes are read: a longer body then declares
    a length over the limit and is refused (413 on API paths) like any other.
    """

    def __init__(self, application):
        self.application = application

    def __call__(self, environ, start_response):
        if (
            "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()
            and not environ.get("CONTENT_LENGTH")
            and environ.get("wsgi.input_terminated")
        ):
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            stream = environ["wsgi.input"]
            body = stream.read() if limit is None else stream.read(limit + 1)
            environ["wsgi.input"] = io.BytesIO(body)
            environ["CONTENT_LENGTH"] = str(len(body))
        return self.application(environ, start_response)


os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
application = ChunkedBodyLength(get_wsgi_application())
