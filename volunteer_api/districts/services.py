"""The reference data: districts, loaded from the CSV shipped with the package."""
from flask_babel import lazy_gettext as _l
import csv
from pathlib import Path

from sqlalchemy import select

from ..errors import Invalid
from ..extensions import db
from .models import District

DISTRICTS_CSV = Path(__file__).resolve().parent.parent / "data" / "zhambyl_districts.csv"
REGION = "zhambyl"


def read_district_rows() -> list[dict]:
    """The districts of the shipped CSV as rows for the districts table."""
    with DISTRICTS_CSV.open(encoding="utf-8-sig", newline="") as handle:
        return [
            {
                "code": row["code"],
                "region": REGION,
                "name_ru": row["name_ru"],
                "name_kk": row["name_kk"],
                "name_en": row["name_en"],
                "centre": row["centre"],
                "lat": float(row["lat"]),
                "lon": float(row["lon"]),
            }
            for row in csv.DictReader(handle)
        ]


def list_districts() -> list[District]:
    return db.session.scalars(select(District).order_by(District.region, District.code)).all()


def known_district_codes() -> set[str]:
    return set(db.session.scalars(select(District.code)))


def require_districts(codes: list[str], *, field: str) -> None:
    """422 naming the field when a code is not a known district."""
    unknown = sorted(set(codes) - known_district_codes())
    if unknown:
        raise Invalid(errors={field: [str(_l("Unknown district: %(codes)s.", codes=", ".join(unknown)))]})
