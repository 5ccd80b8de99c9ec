"""Where photo bytes live, as the settings name it: `PHOTO_STORAGE` and `S3_ENDPOINT_URL`.

Parsed here, before anything starts, so a mistyped URL stops the service with a message that says
what is accepted instead of failing at the first upload.
"""
import re
from typing import NamedTuple
from urllib.parse import urlsplit

# S3's bucket naming rules: 3-63 characters, lower-case letters, digits, dots and hyphens, starting and
# ending with a letter or a digit.
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
PREFIX_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")
ACCEPTED = "expected unset, 'file:' (UPLOAD_DIR on local disk) or 's3://bucket/prefix'"


class PhotoStorageLocation(NamedTuple):
    """`kind` is "file" (UPLOAD_DIR) or "s3" (`bucket`, and object keys under `prefix`, "" for none)."""

    kind: str
    bucket: str = ""
    prefix: str = ""


def parse_photo_storage(raw: str | None) -> PhotoStorageLocation:
    """The store PHOTO_STORAGE names; ValueError, with what is accepted, for anything else."""
    text = (raw or "").strip()
    if text in ("", "file:"):
        return PhotoStorageLocation("file")

    def refuse(reason: str) -> ValueError:
        return ValueError(f"PHOTO_STORAGE={raw!r} is not a photo store: {reason}; {ACCEPTED}")

    if text.startswith("file:"):
        raise refuse("'file:' takes no path (set UPLOAD_DIR for the folder)")
    parts = urlsplit(text)
    if parts.scheme != "s3":
        raise refuse(f"unknown scheme {parts.scheme or '(none)'!r}")
    if parts.query or parts.fragment or "@" in parts.netloc or ":" in parts.netloc:
        raise refuse("no credentials, port, query or fragment belong in it (see S3_ENDPOINT_URL, AWS_ACCESS_KEY_ID)")
    if not BUCKET_NAME.fullmatch(parts.netloc) or ".." in parts.netloc:
        raise refuse(f"{parts.netloc!r} is not a bucket name (3-63 lower-case letters, digits, '.', '-')")
    segments = [segment for segment in parts.path.split("/") if segment]
    if any(not PREFIX_SEGMENT.fullmatch(segment) or set(segment) == {"."} for segment in segments):
        raise refuse(f"the prefix {parts.path!r} may hold only letters, digits, '.', '_', '-' and '/'")
    return PhotoStorageLocation("s3", parts.netloc, "/".join(segments))


def check_s3_endpoint(raw: str | None) -> str | None:
    """S3_ENDPOINT_URL as given, when it is an http(s) URL of a host; ValueError otherwise; None when unset."""
    if not raw:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ValueError(f"S3_ENDPOINT_URL={raw!r} is not an http(s) URL of an S3-compatible server "
                         "(e.g. https://s3.example.kz or http://127.0.0.1:8333)")
    return raw
