"""Helpers for the sites, inspections, photos and sync tests: sites, inspection bodies, images."""
import io
import uuid
from datetime import timedelta

from PIL import Image

from volunteer_api.timestamps import format_utc, utcnow

TARAZ = (42.9000, 71.3667)
# One degree of latitude is ~111 km: 0.045° is ~5 km north.
FIVE_KM_NORTH = (TARAZ[0] + 0.045, TARAZ[1])

CLEAN_CHECKLIST = {"work_in_progress": True, "workers_present": True, "safety_violations": False,
                   "quality_issues": False, "schedule_delay": False, "docs_on_site": True, "progress_percent": 40}


def site_body(**overrides) -> dict:
    body = {"name": "School No. 7", "kind": "school", "district": "taraz", "address": "Tole bi 1",
            "location": {"lat": TARAZ[0], "lon": TARAZ[1]}, "budget_kzt": "1250000000.55",
            "contractor": "Kurylys LLP", "contract_number": "42-2026", "planned_completion": "2027-09-01"}
    body.update(overrides)
    return body


def create_site(client, admin, **overrides) -> dict:
    """Register a site by the API (the sites tests' subject); other tests use the factory, make_site."""
    response = client.post("/api/v1/sites", headers=admin.headers, json=site_body(**overrides))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def inspection_body(site_id: str, *, at=TARAZ, accuracy_m=10.0, mock=False, severity="none", checklist=None,
                    captured_at=None, client_uuid=None, **extra) -> dict:
    location = {"lat": at[0], "lon": at[1], "accuracy_m": accuracy_m}
    if mock:
        location["mock"] = True
    body = {"client_uuid": client_uuid or str(uuid.uuid4()), "site_id": site_id,
            "captured_at": captured_at or format_utc(utcnow() - timedelta(minutes=5)),
            "location": location, "checklist": checklist or dict(CLEAN_CHECKLIST), "severity": severity}
    body.update(extra)
    return body


def file_inspection(client, volunteer, site_id: str, **kwargs) -> dict:
    response = client.post("/api/v1/inspections", headers=volunteer.headers, json=inspection_body(site_id, **kwargs))
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def image_bytes(fmt: str = "JPEG", size=(64, 48), color=(200, 30, 30), exif=None) -> bytes:
    buffer = io.BytesIO()
    image = Image.new("RGB", size, color)
    options = {"exif": exif} if exif is not None else {}
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def gps_exif(lat: float, lon: float) -> Image.Exif:
    """EXIF with a GPS block, as a phone camera writes it (degrees, minutes, seconds)."""
    from PIL import ExifTags, TiffImagePlugin

    def dms(value: float):
        value = abs(value)
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        seconds = round(((value - degrees) * 60 - minutes) * 60, 4)
        return tuple(TiffImagePlugin.IFDRational(part) for part in (degrees, minutes, seconds))

    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.GPSInfo).update({
        ExifTags.GPS.GPSLatitudeRef: "N" if lat >= 0 else "S",
        ExifTags.GPS.GPSLatitude: dms(lat),
        ExifTags.GPS.GPSLongitudeRef: "E" if lon >= 0 else "W",
        ExifTags.GPS.GPSLongitude: dms(lon),
    })
    return exif
