"""The phone's offline sync: every change (positioned by change_numbers.py) since the phone's cursor."""
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from ..change_numbers import change_order, changed_after, position_of, sync_horizon
from ..errors import Invalid
from ..extensions import db
from ..inspections.models import Inspection
from ..pagination import decode_cursor, encode_cursor
from ..savings.models import SavingsReport
from ..sites.models import Site
from ..sites.services import with_counters
from .models import CoverageChange, SiteDeparture


Position = tuple[int, int]
START: Position = (0, 0)


def encode_sync_cursor(position: Position, coverage_change_id: int) -> str:
    xid, seq = position
    return encode_cursor([int(xid), int(seq), int(coverage_change_id)])


def decode_sync_cursor(cursor: str | None) -> tuple[Position, int]:
    """(change position, last coverage change seen).

    Cursors given out before migration 0009_sync_xid_stamps carry a bare change number (and before the
    tombstones, not even the coverage change): the rows numbered then kept transaction id 0, so (0, number)
    is the same place.
    """
    if not cursor:
        return START, 0
    for kinds in ((int, int, int), (int, int)):
        try:
            *position, coverage_change_id = decode_cursor(cursor, kinds)
        except Invalid:
            continue
        return ((0, *position) if len(position) == 1 else tuple(position)), coverage_change_id
    (seq,) = decode_cursor(cursor, (int,))
    return (0, seq), 0


def caller_districts(user) -> list[str] | None:
    """The districts whose sites the caller's phone keeps; None for an admin (every district)."""
    if user.role == "volunteer":
        return [user.district] if user.district else []
    if user.role == "inspector":
        return user.districts
    return None


def _sites_gone_from(districts: list[str], *, after: Position, kept: list[str]) -> list[int]:
    """Ids of the sites a phone of the left `districts` may still hold: those still there, those that left since.

    No horizon here: telling a phone to drop a site it never had is harmless, and a move committing
    between the two reads is seen by one of them (the sites still there are read first).
    """
    still_there = select(Site.id).where(Site.district.in_(districts), Site.district.not_in(kept))
    left_since = (select(SiteDeparture.site_id).outerjoin(Site, Site.id == SiteDeparture.site_id)
                  .where(SiteDeparture.district.in_(districts), changed_after(SiteDeparture, after, None),
                         or_(Site.id.is_(None), Site.district.not_in(kept))))
    return sorted(set(db.session.scalars(still_there)) | set(db.session.scalars(left_since)))


def sync_changes(*, user, since: str | None, limit: int) -> dict:
    """The sites (of the caller's districts) and the caller's own inspections and savings changed since the cursor.

    `removed` lists the sites that left the caller's districts (moved elsewhere) since the cursor. When
    the caller's own districts changed since the cursor (a volunteer moved), the sync starts over from
    the beginning and `removed` first lists every site of the districts left behind (all of them on
    that one page, beyond `limit`: a district holds hundreds of sites, not millions).
    """
    after, seen_coverage_change = decode_sync_cursor(since)
    # First: the rows read after it hold every change below it (change_numbers.py says why).
    horizon = sync_horizon()
    districts = caller_districts(user)
    last_coverage_change = db.session.scalar(
        select(func.max(CoverageChange.id)).where(CoverageChange.user_id == user.id)) or 0
    dropped_sites: list[int] = []
    if since and last_coverage_change > seen_coverage_change and districts is not None:
        left = set(db.session.scalars(select(CoverageChange.district).where(
            CoverageChange.user_id == user.id, CoverageChange.id > seen_coverage_change))) - set(districts)
        if left:
            dropped_sites = _sites_gone_from(sorted(left), after=after, kept=districts)
        # Sites of the new districts changed before the cursor never reached this phone: start over.
        after = START

    sites = select(Site).where(changed_after(Site, after, horizon))
    if districts is not None:
        sites = sites.where(Site.district.in_(districts))
    inspections = (select(Inspection).options(selectinload(Inspection.photos))
                   .where(Inspection.volunteer_id == user.id, changed_after(Inspection, after, horizon)))
    savings = select(SavingsReport).where(SavingsReport.volunteer_id == user.id,
                                          changed_after(SavingsReport, after, horizon))
    queries = [("sites", Site, sites), ("inspections", Inspection, inspections), ("savings", SavingsReport, savings)]
    if districts is not None and since:
        # A first sync has nothing to drop. A departure of a site that is back in the caller's districts
        # is superseded by the site's later change.
        departures = (select(SiteDeparture).outerjoin(Site, Site.id == SiteDeparture.site_id)
                      .where(SiteDeparture.district.in_(districts), changed_after(SiteDeparture, after, horizon),
                             or_(Site.id.is_(None), Site.district.not_in(districts))))
        queries.append(("removed", SiteDeparture, departures))

    # Each stream's first limit+1 rows are enough: the first `limit` of the merge can hold no row beyond them.
    streams = {name: db.session.scalars(stmt.order_by(*change_order(model)).limit(limit + 1)).all()
               for name, model, stmt in queries}
    merged = sorted(((position_of(row), name, row) for name, rows in streams.items() for row in rows),
                    key=lambda item: item[0])
    page, has_more = merged[:limit], len(merged) > limit
    answer = {name: [row for _, kind, row in page if kind == name] for name in ("sites", "inspections", "savings")}
    removed_ids = dict.fromkeys(dropped_sites + [row.site_id for _, kind, row in page if kind == "removed"])
    answer["removed"] = [{"type": "site", "id": str(site_id)} for site_id in removed_ids]
    with_counters(answer["sites"])
    answer["next_cursor"] = encode_sync_cursor(page[-1][0] if page else after, last_coverage_change)
    answer["has_more"] = has_more
    return answer
