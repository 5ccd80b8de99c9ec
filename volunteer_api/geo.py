"""Distances on the WGS 84 ellipsoid (geopy) and the SQL bounding box that prefilters searches."""
import math

from geopy.distance import geodesic
from marshmallow import Schema, fields, validate

from .schemas import JsonBoolean

EARTH_RADIUS_M = 6_371_008.8


def distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Geodesic distance in metres; geopy takes (lat, lon)."""
    return geodesic((lat1, lon1), (lat2, lon2)).meters


def bounding_box(lat: float, lon: float, radius_m: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) that contains every point within radius_m of (lat, lon).

    Slightly generous (spherical, widened by 1 %) so no point the geodesic keeps is cut by the box.
    """
    dlat = math.degrees(radius_m * 1.01 / EARTH_RADIUS_M)
    cos_lat = math.cos(math.radians(min(abs(lat) + dlat, 89.9)))
    dlon = math.degrees(radius_m * 1.01 / (EARTH_RADIUS_M * cos_lat))
    if dlon >= 180:
        return lat - dlat, lat + dlat, -180.0, 180.0
    return max(lat - dlat, -90.0), min(lat + dlat, 90.0), lon - dlon, lon + dlon


def parse_point(text: str) -> tuple[float, float]:
    """"42.90,71.36" → (42.90, 71.36); ValueError when it is not a valid point."""
    lat_text, lon_text = text.split(",")
    lat, lon = float(lat_text), float(lon_text)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180) or math.isnan(lat) or math.isnan(lon):
        raise ValueError("out of range")
    return lat, lon


class PointSchema(Schema):
    """A WGS 84 position in decimal degrees."""

    lat = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=-90, max=90))
    lon = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=-180, max=180))


class DeviceLocationSchema(PointSchema):
    """A phone's fix: the position, its accuracy radius and whether the OS says it is simulated."""

    accuracy_m = fields.Float(required=True, allow_nan=False, validate=validate.Range(min=0, max=100_000))
    mock = JsonBoolean(load_default=False)
