"""The register of sites: create, edit, import, list, and the "sites near me" search."""
import bisect
import math

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import String, and_, cast, exists, func, select

from ..audit.services import record_event
from ..csv_import import read_csv_rows
from ..districts.services import known_district_codes, require_districts
from ..i18n import lazy_messages
from ..errors import Invalid, NotFound
from ..extensions import db
from ..ids import parse_id
from ..geo import EARTH_RADIUS_M, bounding_box, distance_m
from ..inspections.models import UNDECIDED_STATUSES, Inspection
from ..inspections.services import move_open_inspections
from ..money import format_tiyn
from ..jobs import enqueue, names
from ..pagination import decode_cursor, encode_cursor, keyset_page
from ..risk.services import risks_of
from ..savings.models import SavingsTotal
from ..savings.services import move_pending_savings
from ..change_numbers import next_change_seq, reserve_change_seqs
from ..sync.models import SiteDeparture
from .models import Site

IMPORT_COLUMNS = ("name", "kind", "district", "address", "lat", "lon", "geofence_radius_m", "budget_kzt",
                  "contractor", "contract_number", "planned_completion", "status")
MAX_IMPORT_ROWS = 5000
# The sphere's distance differs from the WGS 84 geodesic by at most ~0.6 %; 1 % is a safe bound.
SPHERE_ERROR = 0.01
AUDITED_FIELDS = ("name", "kind", "district", "address", "lat", "lon", "geofence_radius_m", "budget_tiyn",
                  "contractor", "contract_number", "planned_completion", "status")


def snapshot(site: Site) -> dict:
    """The audited state of a site (JSON-ready)."""
    state = {name: getattr(site, name) for name in AUDITED_FIELDS}
    state["budget_kzt"] = format_tiyn(state.pop("budget_tiyn"))
    if state["planned_completion"] is not None:
        state["planned_completion"] = state["planned_completion"].isoformat()
    return state


def _columns(data: dict) -> dict:
    """Schema fields → columns: location becomes lat/lon, budget_kzt (tiyn already) budget_tiyn."""
    values = dict(data)
    if "location" in values:
        location = values.pop("location")
        values["lat"], values["lon"] = location["lat"], location["lon"]
    if "budget_kzt" in values:
        values["budget_tiyn"] = values.pop("budget_kzt")
    return values


def create_site(**data) -> Site:
    """Register a site."""
    require_districts([data["district"]], field="district")
    site = Site(change_seq=next_change_seq(), **_columns(data))
    db.session.add(site)
    db.session.flush()
    record_event(action="site.created", object_type="site", object_id=site.id, after=snapshot(site))
    enqueue(names.REASSESS_SITE_RISKS, site_ids=[site.id])
    db.session.commit()
    return with_counters([site])[0]


def update_site(site_id, **changes) -> Site:
    """Change a site's fields; the change reaches the phones through /sync.

    A site moved to another district takes its open reports along (the contract: the inspector of the
    site's district reviews), so the new district's inspectors see, review and are alerted about them.
    """
    site = _load(site_id)
    if "district" in changes:
        require_districts([changes["district"]], field="district")
    before = snapshot(site)
    for name, value in _columns(changes).items():
        setattr(site, name, value)
    after = snapshot(site)
    if after != before:
        record_event(action="site.updated", object_type="site", object_id=site.id, before=before, after=after)
        moved = []
        if after["district"] != before["district"]:
            moved = [*move_open_inspections(site_id=site.id, district=site.district),
                     *move_pending_savings(site_id=site.id, district=site.district)]
        site.change_seq, *seqs = reserve_change_seqs(1 + len(moved))
        for row, seq in zip(moved, seqs):
            row.change_seq = seq
        enqueue(names.REASSESS_SITE_RISKS, site_ids=[site.id])
        if after["district"] != before["district"]:
            # The old district's phones learn of the move with the same change number.
            SiteDeparture.record(site_id=site.id, district=before["district"], change_seq=site.change_seq)
    db.session.commit()
    return with_counters([site])[0]


def get_site(site_id) -> Site:
    """The site with its open flags and approved savings."""
    return with_counters([_load(site_id)])[0]


def _load(site_id) -> Site:
    key = parse_id(site_id)
    site = db.session.get(Site, key) if key is not None else None
    if site is None:
        raise NotFound()
    return site


def _open_flag_condition():
    return and_(Inspection.site_id == Site.id, Inspection.flagged.is_(True), Inspection.status.in_(UNDECIDED_STATUSES))


def open_flag_counts(site_ids: list[int]) -> dict[int, int]:
    """Flagged inspections not yet reviewed, per site (the partial index of open flags answers it)."""
    return dict(db.session.execute(
        select(Inspection.site_id, func.count())
        # A bare `flagged`, not `IS true`: the form PostgreSQL matches to the partial index's predicate.
        .where(Inspection.site_id.in_(site_ids), Inspection.flagged, Inspection.status.in_(UNDECIDED_STATUSES))
        .group_by(Inspection.site_id)
    ).all())


def open_flags_column():
    """A site's open flags as a correlated subquery (one probe of the partial index per site)."""
    return (select(func.count()).where(Inspection.site_id == Site.id, Inspection.flagged,
                                       Inspection.status.in_(UNDECIDED_STATUSES))
            .correlate(Site).scalar_subquery())


def approved_savings_join():
    """The ON clause joining a site to its row of the workers' savings totals (none: nothing approved yet)."""
    return and_(SavingsTotal.scope == "site", SavingsTotal.key == cast(Site.id, String))


def approved_savings(site_ids: list[int]) -> dict[int, int]:
    """Approved savings in tiyn per site, as the workers last totalled them (no row: none yet)."""
    return {int(key): tiyn for key, tiyn in db.session.execute(
        select(SavingsTotal.key, SavingsTotal.approved_tiyn)
        .where(SavingsTotal.scope == "site", SavingsTotal.key.in_([str(i) for i in site_ids]))
    ).all()}


def with_counters(sites: list[Site]) -> list[Site]:
    """Attach open_flags, approved_savings_tiyn and risk to a page of sites: three queries for the page."""
    ids = [site.id for site in sites]
    if not ids:
        return sites
    flags, savings, risks = open_flag_counts(ids), approved_savings(ids), risks_of(ids)
    for site in sites:
        site.open_flags = flags.get(site.id, 0)
        site.approved_savings_tiyn = savings.get(site.id, 0)
        site.risk = risks.get(site.id)
    return sites


def list_sites(*, district: str | None = None, status: str | None = None, flagged: bool | None = None,
               near: tuple[float, float] | None = None, radius_m: int | None = None,
               limit: int, cursor: str | None) -> tuple[list[Site], str | None]:
    """Sites by keyset, newest first; with `near`, those within radius_m, nearest first."""
    query = select(Site)
    if district is not None:
        query = query.where(Site.district == district)
    if status is not None:
        query = query.where(Site.status == status)
    if flagged is not None:
        open_flags = exists().where(_open_flag_condition())
        query = query.where(open_flags if flagged else ~open_flags)
    if near is not None:
        from .schemas import DEFAULT_NEAR_RADIUS_M

        return sites_near(query, point=near, radius_m=radius_m or DEFAULT_NEAR_RADIUS_M, limit=limit, cursor=cursor)
    sites, next_cursor = keyset_page(query, key_columns=[Site.id], limit=limit, cursor=cursor)
    return with_counters(sites), next_cursor


def sites_near(query, *, point: tuple[float, float], radius_m: float, limit: int,
               cursor: str | None) -> tuple[list[Site], str | None]:
    """The sites of `query` within radius_m of point, nearest first, by keyset on (distance, id).

    The bounding box runs in SQL on the (lat, lon) index and returns only ids and coordinates. A cheap
    spherical distance orders the candidates; geopy's geodesic then measures them in that order, only
    until no later candidate can still enter the page. Only the page's rows are loaded whole.
    """
    lat, lon = point
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius_m)
    box = query.with_only_columns(Site.id, Site.lat, Site.lon).where(
        Site.lat.between(min_lat, max_lat), Site.lon.between(min_lon, max_lon)
    )
    rough = sorted(
        (metres, site_id, site_lat, site_lon)
        for site_id, site_lat, site_lon in db.session.execute(box)
        if (metres := spherical_distance_m(lat, lon, site_lat, site_lon)) <= radius_m * (1 + SPHERE_ERROR)
    )
    after = tuple(decode_cursor(cursor, (int, int))) if cursor else None
    page: list[tuple[int, int, float]] = []  # (millimetres, id, metres): an exact integer key the cursor can carry
    for approx, site_id, site_lat, site_lon in rough:
        lowest = approx * (1 - SPHERE_ERROR)
        if lowest > radius_m or (len(page) > limit and lowest * 1000 > page[limit][0]):
            break  # every later candidate is farther than the radius or than the page's last place
        if after is not None and approx * (1 + SPHERE_ERROR) * 1000 < after[0] - 1:
            continue  # surely before the cursor
        metres = distance_m(lat, lon, site_lat, site_lon)
        key = (round(metres * 1000), site_id, metres)
        if metres <= radius_m and (after is None or key[:2] > after):
            bisect.insort(page, key)
    next_cursor = encode_cursor(page[limit - 1][:2]) if len(page) > limit else None
    page = page[:limit]
    rows = {site.id: site for site in db.session.scalars(select(Site).where(Site.id.in_([e[1] for e in page])))}
    sites = []
    for _, site_id, metres in page:
        site = rows[site_id]
        site.distance_m = round(metres, 1)
        sites.append(site)
    return with_counters(sites), next_cursor


def spherical_distance_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance on the mean sphere: within SPHERE_ERROR of the geodesic, at a fraction of its cost."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    half_dphi, half_dlambda = (phi2 - phi1) / 2, math.radians(lon2 - lon1) / 2
    h = math.sin(half_dphi) ** 2 + math.cos(phi1) * math.cos(phi2) * math.sin(half_dlambda) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(h)))


def import_sites(*, content: bytes, dry_run: bool) -> tuple[list[Site], int]:
    """Register every site of a CSV, or none: any bad row is a 422 naming the rows (`row N`, N its line).

    Returns the sites created (none on a dry run) and the number of valid rows.
    """
    from .schemas import SiteCsvRowSchema  # the same rules as one-by-one registration

    rows = read_csv_rows(content, columns=IMPORT_COLUMNS, max_rows=MAX_IMPORT_ROWS,
                         empty_message=_l("No sites in the file."))
    schema = SiteCsvRowSchema()
    districts = known_district_codes()
    errors: dict[str, dict] = {}
    valid: list[dict] = []
    for line, row in rows:
        raw = {key: (row.get(key) or "").strip() for key in IMPORT_COLUMNS}
        # An empty cell means "not given": the schema's default applies, as when a JSON field is left out.
        raw = {key: value for key, value in raw.items() if value != ""}
        if "lat" in raw or "lon" in raw:
            raw["location"] = {"lat": raw.pop("lat", None), "lon": raw.pop("lon", None)}
        try:
            data = schema.load(raw)
        except ValidationError as exc:
            errors[f"row {line}"] = lazy_messages(exc.messages)
            continue
        if data["district"] not in districts:
            errors[f"row {line}"] = {"district": [str(_l("Unknown district: %(code)s.", code=data["district"]))]}
            continue
        valid.append(data)
    if errors:
        raise Invalid(_l("%(bad)s of %(total)s rows are invalid; nothing was imported.", bad=len(errors), total=len(rows)),
                      errors=errors)
    if dry_run:
        return [], len(valid)
    seqs = reserve_change_seqs(len(valid))
    sites = [Site(change_seq=seq, **_columns(data)) for data, seq in zip(valid, seqs)]
    db.session.add_all(sites)
    db.session.flush()
    for site in sites:
        record_event(action="site.imported", object_type="site", object_id=site.id, after=snapshot(site))
    enqueue(names.REASSESS_SITE_RISKS, site_ids=[site.id for site in sites])
    db.session.commit()
    return with_counters(sites), len(valid)


def sites_by_id(ids) -> dict[int, Site]:
    """The sites with these ids, in one query (for naming the sites of a page of reports)."""
    ids = {int(i) for i in ids}
    return {site.id: site for site in db.session.scalars(select(Site).where(Site.id.in_(ids)))} if ids else {}
