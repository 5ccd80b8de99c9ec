"""Streaming a stored object (a photo, a preview) to the caller: chunks, a strong ETag, 304 and ranges.

The API's photo endpoints and the console's photo pages answer through this one function.
"""
from typing import Callable

from flask import Response, request
from werkzeug.wsgi import FileWrapper, wrap_file

from .photo_storage import StoredObject

# A photo's URL always names the same bytes (content-addressed, write-once): the caller's own cache
# may keep it, a shared cache may not (who may see it is decided per request).
PHOTO_CACHE_CONTROL = "private, max-age=86400"


def stored_object_response(open_stored: Callable[[], StoredObject], *, mimetype: str, etag: str) -> Response:
    """Stream a stored object in chunks with a strong ETag; 304 when the caller's copy is current.

    `open_stored()` opens it, only when the ETag did not already answer. Ranges are served too.
    """
    if request.if_none_match.contains(etag):
        response = Response(status=304)
        response.set_etag(etag)
    else:
        stored = open_stored()
        try:
            # A range seeks to its start through werkzeug's wrapper; the server's (gunicorn's, for sendfile)
            # cannot seek, and would read a 10 MB original from its store up to the range's start.
            body = FileWrapper(stored.file) if request.range else wrap_file(request.environ, stored.file)
            response = Response(body, mimetype=mimetype, direct_passthrough=True)
            response.content_length = stored.size
            response.set_etag(etag)
            response = response.make_conditional(request, accept_ranges=True, complete_length=stored.size)
        except BaseException:
            # An unsatisfiable range raises (416) before the body is handed to the server, which would
            # close it: close it here (on S3, else its pooled connection stays checked out).
            stored.file.close()
            raise
    response.headers["Cache-Control"] = PHOTO_CACHE_CONTROL
    return response
