"""Checking an uploaded photo with Pillow and storing its bytes once, by SHA-256, under UPLOAD_DIR."""
import hashlib
import io
import math
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import ExifTags, Image, UnidentifiedImageError

from ..errors import Invalid, PayloadTooLarge, UnsupportedMediaType

# Pillow format → the media type we record; nothing else is accepted.
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}


@dataclass(frozen=True)
class CheckedPhoto:
    data: bytes
    sha256: str
    content_type: str
    width: int
    height: int
    gps: tuple[float, float] | None


def read_limited(stream, limit: int) -> bytes:
    """At most `limit` bytes of the stream; 413 when there are more (the rest is never read)."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(_l("A photo may be at most %(mb)s MB.", mb=limit // (1024 * 1024)))
    return data


def check_photo(data: bytes) -> CheckedPhoto:
    """Verify that the bytes are a JPEG, PNG or WebP image within the pixel limit; read its EXIF position."""
    max_pixels = current_app.config["MAX_IMAGE_PIXELS"]
    # Pillow refuses images above twice this limit while opening (DecompressionBombError); we check the rest.
    Image.MAX_IMAGE_PIXELS = max_pixels
    try:
        with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
            _refuse_bomb(image.size, max_pixels)
            image.verify()
        # verify() leaves the image unusable: reopen to decode it and read its metadata.
        with Image.open(io.BytesIO(data), formats=list(FORMATS)) as image:
            content_type = FORMATS[image.format]
            width, height = image.size
            gps = exif_position(image)
            if image.format == "JPEG":
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))  # decode the whole stream, cheaply
            image.load()
    except Image.DecompressionBombError as exc:
        raise PayloadTooLarge(_l("The image has too many pixels.")) from exc
    except UnidentifiedImageError as exc:
        raise UnsupportedMediaType(_l("Send a JPEG, PNG or WebP photo.")) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise Invalid(_l("The photo is damaged and cannot be read."), errors={"file": [str(exc)[:200]]}) from exc
    return CheckedPhoto(data=data, sha256=hashlib.sha256(data).hexdigest(), content_type=content_type,
                        width=width, height=height, gps=gps)


def _refuse_bomb(size: tuple[int, int], max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise PayloadTooLarge(_l("The image has too many pixels."))


def exif_position(image: Image.Image) -> tuple[float, float] | None:
    """The (lat, lon) of the EXIF GPS block, or None when there is none or it makes no sense."""
    try:
        gps = image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    except Exception:  # noqa: BLE001 - broken metadata is no reason to refuse a photo
        return None
    tags = ExifTags.GPS
    try:
        lat = _degrees(gps[tags.GPSLatitude], gps.get(tags.GPSLatitudeRef, "N"), "S")
        lon = _degrees(gps[tags.GPSLongitude], gps.get(tags.GPSLongitudeRef, "E"), "W")
    except (KeyError, TypeError, ValueError, ZeroDivisionError):
        return None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat) or math.isnan(lon):
        return None
    return lat, lon


def _degrees(dms, ref, negative_ref: str) -> float:
    degrees, minutes, seconds = (float(part) for part in dms)
    value = degrees + minutes / 60 + seconds / 3600
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    return -value if str(ref).strip().upper() == negative_ref else value


def photo_path(sha256: str) -> Path:
    return Path(current_app.config["UPLOAD_DIR"]) / sha256[:2] / sha256


def store_photo(photo: CheckedPhoto) -> Path:
    """Write the bytes under UPLOAD_DIR/<sha[:2]>/<sha> unless they are there already; atomic (temp + rename)."""
    return store_original(photo.sha256, photo.data)


def store_original(sha256: str, data: bytes) -> Path:
    """Write an original's bytes under their sha256 unless they are there already; atomic (temp + rename).

    The caller vouches that `sha256` is the digest of `data` (checked upload, verified backup)."""
    path = photo_path(sha256)
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
    try:
        with os.fdopen(handle, "wb") as temp:
            temp.write(data)
            temp.flush()
            os.fsync(temp.fileno())
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise
    return path
