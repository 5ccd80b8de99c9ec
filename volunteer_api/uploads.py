"""Multipart uploads (photos, CSV imports): one file field and nothing else."""
from flask import request
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage

from .errors import Invalid


def uploaded_file(field: str = "file") -> FileStorage:
    """The uploaded file; 422 when it is missing or sent with text fields (unknown input is never ignored)."""
    if request.form:
        # A part may come without a name (None).
        raise Invalid(errors={name or "_form": [str(_l("Unknown field."))] for name in request.form})
    upload = request.files.get(field)
    if upload is None:
        raise Invalid(errors={field: [str(_l("Attach the file as multipart field '%(field)s'.", field=field))]})
    return upload


def uploaded_file_bytes(field: str = "file") -> bytes:
    """The bytes of the uploaded file (see uploaded_file)."""
    return uploaded_file(field).read()
