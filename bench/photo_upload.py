"""A phone's photo for the upload benchmark: a JPEG of about the given size, with the EXIF a phone
writes (DateTimeOriginal with its offset, a GPS position at the site)."""
import io
import random
from datetime import datetime, timedelta, timezone

from PIL import ExifTags, Image, ImageFilter


def phone_jpeg(target_bytes: int, lat: float, lon: float, *, width: int = 1600, height: int = 1200) -> bytes:
    """A photo-like picture (smooth shapes plus sensor noise, so it compresses like a photo) encoded at the
    JPEG quality that brings it closest to target_bytes."""
    rng = random.Random(2026)
    base = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    noise = Image.effect_noise((width, height), 40).convert("RGB")
    picture = Image.blend(base, noise, 0.35).filter(ImageFilter.GaussianBlur(1.2))
    for _ in range(40):  # a few shapes: edges a camera picture has
        x, y = rng.randrange(width), rng.randrange(height)
        patch = Image.new("RGB", (rng.randrange(40, 300), rng.randrange(40, 300)),
                          tuple(rng.randrange(256) for _ in range(3)))
        picture.paste(patch, (x, y))
    exif = Image.Exif()
    taken = datetime.now(timezone(timedelta(hours=5))) - timedelta(minutes=3)
    exif[ExifTags.Base.Make], exif[ExifTags.Base.Model] = "Bench", "Phone"
    exif[ExifTags.Base.DateTime] = taken.strftime("%Y:%m:%d %H:%M:%S")
    details = exif.get_ifd(ExifTags.IFD.Exif)
    details[ExifTags.Base.DateTimeOriginal] = taken.strftime("%Y:%m:%d %H:%M:%S")
    details[ExifTags.Base.OffsetTimeOriginal] = "+05:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef], gps[ExifTags.GPS.GPSLatitude] = "N", _dms(lat)
    gps[ExifTags.GPS.GPSLongitudeRef], gps[ExifTags.GPS.GPSLongitude] = "E", _dms(lon)
    best = None
    for quality in range(30, 96, 3):
        buffer = io.BytesIO()
        picture.save(buffer, format="JPEG", quality=quality, exif=exif)
        if best is None or abs(buffer.tell() - target_bytes) < abs(len(best) - target_bytes):
            best = buffer.getvalue()
    return best


def _dms(value: float) -> tuple[float, float, float]:
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60, 2)
    return float(degrees), float(minutes), seconds
