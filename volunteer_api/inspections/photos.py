"""Photos with Pillow: checking an upload, reading its EXIF position and time, storing the original
once by SHA-256, and making its previews (upright, JPEG, without any metadata)."""
import hashlib
import io
import math
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import BinaryIO
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from PIL import ExifTags, Image, ImageOps, UnidentifiedImageError

from ..errors import Invalid, PayloadTooLarge, UnsupportedMediaType
from ..photo_storage import photo_storage

# Pillow format → the media type we record; nothing else is accepted.
FORMATS = {"JPEG": "image/jpeg", "PNG": "image/png", "WEBP": "image/webp"}
PREVIEW_SIZES = (320, 1280)
PREVIEW_QUALITY = 82
# A camera's clock without an offset tag is taken as local time where the volunteers work: Kazakhstan
# has had one time zone (UTC+5) since 2024, and Asia/Almaty also gives the right offset to older photos.
CAMERA_TIME_ZONE = ZoneInfo("Asia/Almaty")
# More than this between the camera's time and the phone's captured_at is a data-quality flag.
TIME_MISMATCH_AFTER = timedelta(days=1)
EXIF_TIME_FORMAT = "%Y:%m:%d %H:%M:%S"


@dataclass(frozen=True)
class CheckedPhoto:
    data: bytes
    sha256: str
    content_type: str
    width: int
    height: int
    gps: tuple[float, float] | None
    taken_at: datetime | None


def read_limited(stream, limit: int) -> bytes:
    """At most `limit` bytes of the stream; 413 when there are more (the rest is never read)."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise PayloadTooLarge(_l("A photo may be at most %(mb)s MB.", mb=limit // (1024 * 1024)))
    return data


def check_photo(data: bytes, *, sha256: str | None = None) -> CheckedPhoto:
    """Verify that the bytes are a JPEG, PNG or WebP image within the pixel limit; read its EXIF position.

    `sha256`: the bytes' hex digest when the caller has it already (10 MB are not hashed twice).
    """
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
            taken_at = exif_taken_at(image)
            if image.format == "JPEG":
                image.draft("RGB", (max(1, width // 8), max(1, height // 8)))  # decode the whole stream, cheaply
            image.load()
    except Image.DecompressionBombError as exc:
        raise PayloadTooLarge(_l("The image has too many pixels.")) from exc
    except UnidentifiedImageError as exc:
        raise UnsupportedMediaType(_l("Send a JPEG, PNG or WebP photo.")) from exc
    except (OSError, SyntaxError, ValueError) as exc:
        raise Invalid(_l("The photo is damaged and cannot be read."), errors={"file": [str(exc)[:200]]}) from exc
    return CheckedPhoto(data=data, sha256=sha256 or hashlib.sha256(data).hexdigest(), content_type=content_type,
                        width=width, height=height, gps=gps, taken_at=taken_at)


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


def exif_taken_at(image: Image.Image) -> datetime | None:
    """When the camera says the photo was taken, in UTC; None when it does not say or makes no sense.

    DateTimeOriginal with its OffsetTimeOriginal when the camera wrote one (phones do since EXIF 2.31),
    else the file's DateTime; a time without an offset is read as Asia/Almaty local time.
    """
    try:
        exif = image.getexif()
        details = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception:  # noqa: BLE001 - broken metadata is no reason to refuse a photo
        return None
    text, offset = details.get(ExifTags.Base.DateTimeOriginal), details.get(ExifTags.Base.OffsetTimeOriginal)
    if not text:
        text, offset = exif.get(ExifTags.Base.DateTime), details.get(ExifTags.Base.OffsetTime)
    try:
        local = datetime.strptime(_exif_text(text)[:19], EXIF_TIME_FORMAT)
    except (TypeError, ValueError):
        return None
    zone = _utc_offset(_exif_text(offset)) or CAMERA_TIME_ZONE
    return local.replace(tzinfo=zone).astimezone(timezone.utc)


def _exif_text(value) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "ignore")
    return value.strip("\x00 ") if isinstance(value, str) else None


def _utc_offset(text: str | None) -> timezone | None:
    """"+05:00" → UTC+5; None for anything else."""
    if not text or len(text) != 6 or text[0] not in "+-" or text[3] != ":":
        return None
    try:
        hours, minutes = int(text[1:3]), int(text[4:6])
    except ValueError:
        return None
    if hours > 14 or minutes > 59:
        return None
    sign = -1 if text[0] == "-" else 1
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def time_mismatch(taken_at: datetime | None, captured_at: datetime) -> bool:
    """Whether the camera's time is more than a day from the inspection's captured_at."""
    return taken_at is not None and abs(taken_at - captured_at) > TIME_MISMATCH_AFTER


def original_key(sha256: str) -> str:
    """The storage key of an original: `<sha[:2]>/<sha>` (the layout of UPLOAD_DIR since the first upload)."""
    return f"{sha256[:2]}/{sha256}"


def preview_key(sha256: str, size: int) -> str:
    """The storage key of a preview, beside its original."""
    return f"{original_key(sha256)}.preview-{size}.jpg"


def store_photo(photo: CheckedPhoto) -> None:
    """Store the checked original under its SHA-256 unless it is there already (atomic, write-once)."""
    photo_storage().put(original_key(photo.sha256), photo.data)


def render_preview(original: BinaryIO, size: int) -> bytes:
    """A JPEG at most `size` px on its longer side, turned upright by its EXIF orientation, with no metadata.

    Only checked originals reach this (check_photo at upload refused bombs and broken files); the pixel
    limit is set again because a worker process decodes here without having checked anything.
    """
    Image.MAX_IMAGE_PIXELS = current_app.config["MAX_IMAGE_PIXELS"]
    with Image.open(original, formats=list(FORMATS)) as image:
        if image.format == "JPEG":
            image.draft("RGB", (size, size))  # decode at 1/2, 1/4 or 1/8 scale when that is still large enough
        upright = ImageOps.exif_transpose(image)
        upright.thumbnail((size, size), Image.Resampling.LANCZOS)
        pixels = _flatten(upright)
    # A new image carries nothing of the original's info (EXIF, XMP, ICC profile, comments).
    clean = Image.new("RGB", pixels.size)
    clean.paste(pixels)
    buffer = io.BytesIO()
    clean.save(buffer, format="JPEG", quality=PREVIEW_QUALITY, optimize=True)
    return buffer.getvalue()


def _flatten(image: Image.Image) -> Image.Image:
    """RGB pixels; transparency is laid on white (a preview is a JPEG)."""
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGB", rgba.size, (255, 255, 255))
        background.paste(rgba, mask=rgba.getchannel("A"))
        return background
    return image.convert("RGB")


def make_preview(sha256: str, size: int) -> bool:
    """Make and store one preview of a stored original unless it exists; True when this call made it.

    Concurrent makers of one preview (the job and an early request) write identical bytes to one key;
    the store keeps the first and neither fails.
    """
    storage = photo_storage()
    key = preview_key(sha256, size)
    if storage.exists(key):
        return False
    with storage.open(original_key(sha256)).file as original:
        preview = render_preview(original, size)
    return storage.put(key, preview)
