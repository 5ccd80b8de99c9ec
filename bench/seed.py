"""Seed a PostgreSQL database with realistic data at scale, by COPY, with progress bars.

The 144 Zhambyl volunteers plus a scale set: 10,000 volunteers, 50,000 sites, 1,000,000 inspections,
1,000,000 savings reports (sizes are arguments). Every account's password is BENCH_PASSWORD.
"""
import json
import random
import uuid
from datetime import datetime, timedelta, timezone

import psycopg
from argon2 import PasswordHasher
from tqdm import tqdm

from bench.common import psycopg_dsn

BENCH_PASSWORD = "bench password 2026"
ADMIN_LOGIN = "admin@bench.kz"
DISTRICTS = {
    "taraz": (42.90, 71.3667), "baizak": (43.00, 71.50), "zhambyl": (42.93, 71.28), "zhualy": (42.63, 70.77),
    "kordai": (43.04, 74.71), "merke": (42.87, 73.18), "moiynkum": (44.27, 72.94), "sarysu": (43.57, 69.75),
    "talas": (43.18, 70.46), "shu": (43.68, 73.76), "ryskulov": (42.92, 72.74),
}
CODES = list(DISTRICTS)
FIRST = ["Айгуль", "Нурлан", "Ерлан", "Сабина", "Данияр", "Асель", "Бауыржан", "Жанар", "Ермек", "Гульнара", "Тимур", "Мадина"]
LAST = ["Нурланова", "Ахметов", "Сапаров", "Жумабаева", "Искаков", "Касымова", "Омаров", "Бекова", "Садыков", "Алиева"]
KINDS = ["school", "kindergarten", "hospital", "clinic", "sports", "culture", "housing", "road", "water", "other"]
CATEGORIES = ["overpricing_prevented", "contract_reduced", "funds_returned", "unjustified_works_removed", "other"]
CHECKLIST_KEYS = ["work_in_progress", "workers_present", "safety_violations", "quality_issues", "schedule_delay", "docs_on_site"]


def volunteer_phone(n: int) -> str:
    return f"+7702{n:07d}"


def seed(database_url: str, *, volunteers: int = 10_000, sites: int = 50_000, inspections: int = 1_000_000,
         savings: int = 1_000_000, seed_value: int = 2026) -> dict:
    """Fill the database; returns the ids the load needs (admin, volunteers, sites...)."""
    rng = random.Random(seed_value)
    now = datetime.now(timezone.utc)
    password_hash = PasswordHasher().hash(BENCH_PASSWORD)
    with psycopg.connect(psycopg_dsn(database_url), autocommit=False) as conn:
        user_rows = _users(rng, now, password_hash, 144 + volunteers)
        _copy(conn, "users", ["id", "role", "full_name", "phone", "email", "password_hash", "active", "language",
                              "district", "badge_number", "created_at", "updated_at"], user_rows, "users")
        inspector_ids = [row[0] for row in user_rows if row[1] == "inspector"]
        _copy(conn, "inspector_districts", ["user_id", "district"],
              [(inspector_id, code) for inspector_id, code in zip(inspector_ids, CODES)], "inspector districts")
        volunteer_rows = [row for row in user_rows if row[1] == "volunteer"]
        site_rows = list(_sites(rng, now, sites))
        _copy(conn, "sites", ["id", "name", "kind", "district", "address", "lat", "lon", "geofence_radius_m",
                              "budget_tiyn", "contractor", "contract_number", "planned_completion", "status",
                              "created_at", "updated_at", "change_seq"], site_rows, "sites")
        _copy(conn, "inspections", ["id", "client_uuid", "request_hash", "volunteer_id", "site_id", "district",
                                    "captured_at", "received_at", "lat", "lon", "accuracy_m", "mock_location",
                                    "checklist", "severity", "notes", "distance_m", "on_site", "flagged",
                                    "flag_reasons", "status", "updated_at", "change_seq"],
              _inspections(rng, now, inspections, volunteer_rows, site_rows), "inspections", total=inspections)
        _copy(conn, "savings_reports", ["id", "client_uuid", "request_hash", "volunteer_id", "site_id", "district",
                                        "amount_tiyn", "category", "description", "status", "created_at",
                                        "reviewed_by_id", "reviewed_at", "updated_at", "change_seq"],
              _savings(rng, now, savings, volunteer_rows, site_rows, inspector_ids[0]), "savings", total=savings)
        for table in ("users", "sites", "inspections", "savings_reports"):
            conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        conn.commit()
        conn.autocommit = True
        for table in ("users", "sites", "inspections", "savings_reports"):
            conn.execute(f"VACUUM ANALYZE {table}")
    return {
        "admin_login": ADMIN_LOGIN,
        "volunteer_logins": [row[3] for row in volunteer_rows[:32]],
        "volunteer_sites": {row[3]: _home_site(row[0], site_rows) for row in volunteer_rows[:32]},
        "inspector_logins": [row[4] for row in user_rows if row[1] == "inspector"],
        "sites": len(site_rows),
    }


def _home_site(volunteer_id: int, site_rows: list) -> dict:
    site = site_rows[volunteer_id % len(site_rows)]
    return {"id": str(site[0]), "lat": site[5], "lon": site[6], "district": site[3]}


def _users(rng, now, password_hash, volunteer_count):
    rows = [(1, "admin", "Бенчмарк Админ", None, ADMIN_LOGIN, password_hash, True, "ru", None, None, now, now)]
    for index, code in enumerate(CODES):
        rows.append((2 + index, "inspector", f"Инспектор {code}", None, f"inspector.{code}@bench.kz", password_hash,
                     True, "ru", None, None, now, now))
    first_volunteer_id = len(rows) + 1
    for n in range(volunteer_count):
        user_id = first_volunteer_id + n
        rows.append((user_id, "volunteer", f"{rng.choice(FIRST)} {rng.choice(LAST)}", volunteer_phone(n), None,
                     password_hash, True, "ru", CODES[n % len(CODES)], f"ZHB-{user_id:06d}", now, now))
    return rows


def _sites(rng, now, count):
    for site_id in range(1, count + 1):
        code = CODES[site_id % len(CODES)]
        lat0, lon0 = DISTRICTS[code]
        yield (site_id, f"Объект №{site_id}", rng.choice(KINDS), code, f"ул. Абая, {site_id % 300}",
               lat0 + rng.uniform(-0.3, 0.3), lon0 + rng.uniform(-0.4, 0.4), 300,
               rng.randrange(50_000_000, 5_000_000_000_00), "ТОО Курылыс", f"ГЗ-{site_id}", None,
               "under_construction", now, now, site_id)


def _inspections(rng, now, count, volunteers, sites):
    for inspection_id in range(1, count + 1):
        volunteer = volunteers[inspection_id % len(volunteers)]
        site = sites[rng.randrange(len(sites))]
        flagged = rng.random() < 0.1
        checklist = {key: (flagged and key == "safety_violations") for key in CHECKLIST_KEYS}
        checklist["progress_percent"] = rng.randrange(0, 101)
        captured = now - timedelta(seconds=rng.randrange(0, 29 * 86400))
        yield (inspection_id, str(uuid.UUID(int=rng.getrandbits(128), version=4)), "0" * 64, volunteer[0], site[0],
               site[3], captured, captured + timedelta(seconds=5), site[5], site[6], 10.0, False,
               json.dumps(checklist), "medium" if flagged else "none", None, 12.5, True, flagged,
               json.dumps(["safety_violations"] if flagged else []), "submitted", captured, 0)


def _savings(rng, now, count, volunteers, sites, reviewer_id):
    for saving_id in range(1, count + 1):
        volunteer = volunteers[saving_id % len(volunteers)]
        site = sites[rng.randrange(len(sites))]
        roll = rng.random()
        status = "approved" if roll < 0.6 else "pending" if roll < 0.9 else "rejected"
        created = now - timedelta(seconds=rng.randrange(0, 365 * 86400))
        reviewed = created + timedelta(days=1) if status != "pending" else None
        yield (saving_id, str(uuid.UUID(int=rng.getrandbits(128), version=4)), "0" * 64, volunteer[0], site[0],
               site[3], rng.randrange(100_000, 5_000_000_000), rng.choice(CATEGORIES), "Снижение цены договора",
               status, created, reviewer_id if reviewed else None, reviewed, reviewed or created, 0)


def _copy(conn, table: str, columns: list[str], rows, label: str, total: int | None = None) -> None:
    with conn.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            for row in tqdm(rows, desc=f"seed {label}", total=total or (len(rows) if hasattr(rows, "__len__") else None),
                            unit=" rows", mininterval=1.0, leave=False):
                copy.write_row(row)


def seed_audit_chain(database_url: str, *, audit_key: str, events: int) -> None:
    """A sealed audit chain of `events` events under `audit_key`, and a signed verification of it.

    What GET /audit/verify answers over: the stack (started with the same AUDIT_KEY) seals its own
    events after these and verifies only the tail after the stored verification.
    """
    from bench.common import app_in_process
    from volunteer_api.extensions import db

    app = app_in_process(database_url, AUDIT_KEY=audit_key)
    with app.app_context():
        write_sealed_chain(events)
        store_full_verification(events)
        db.session.remove()
        db.engine.dispose()


def write_sealed_chain(count: int) -> None:
    """`count` keyed, sealed events after what the chain holds (an empty chain), loaded by COPY (in an app context).

    Keyed and linked by the audit domain's own functions (`event_mac`, `event_hash`), so the sealer, the
    verifications and the full job take them for its own. Their times are 2.5 s apart, ending a day ago:
    older than anything the stack writes, and not older than the sealed head (which would be refused as
    back-dated).
    """
    from types import SimpleNamespace

    from sqlalchemy import text

    from volunteer_api.audit.services import GENESIS_HASH, event_hash, event_mac
    from volunteer_api.extensions import db

    columns = ("id", "action", "object_type", "object_id", "after", "created_at", "seq", "prev_hash", "hash", "mac")
    step = timedelta(microseconds=2_500_000)
    start = datetime.now(timezone.utc) - timedelta(days=1) - step * count
    prev_hash = GENESIS_HASH
    raw = db.engine.raw_connection()
    try:
        cursor = raw.driver_connection.cursor()
        with cursor.copy(f"COPY audit_events ({', '.join(columns)}) FROM STDIN") as copy:
            for n in tqdm(range(1, count + 1), desc="seed audit events", unit=" rows", mininterval=1.0, leave=False):
                values = {"actor_id": None, "action": "site.updated", "object_type": "site", "object_id": str(n % 50_000),
                          "before": None, "after": {"n": n, "name": "Школа №7"}, "request_id": None, "address": None,
                          "created_at": start + step * n}
                event = SimpleNamespace(**values, id=n, seq=n, mac=event_mac(values))
                event.hash = event_hash(event, prev_hash)
                copy.write_row((n, values["action"], values["object_type"], values["object_id"],
                                json.dumps(values["after"], ensure_ascii=False), values["created_at"], n, prev_hash,
                                event.hash, event.mac))
                prev_hash = event.hash
        raw.driver_connection.commit()
    finally:
        raw.close()
    with db.engine.connect() as connection:
        connection.execute(text("SELECT setval(pg_get_serial_sequence('audit_events', 'id'), :n)"), {"n": count})
        connection.commit()


def store_full_verification(count: int) -> None:
    """A finished full verification through seq `count`, signed as the full job signs its result
    (`verifications._finish`), without the job's walk: the chain was just built intact, and the walk's
    own time is bench/audit_chain.py's figure. Without one, the stack's first verification sweep would
    walk the whole chain in the worker while the other figures are measured."""
    from volunteer_api.audit import verifications
    from volunteer_api.extensions import db
    from volunteer_api.timestamps import utcnow

    verification = verifications.AuditVerification(kind="full", status="running", from_seq=0, started_at=utcnow())
    db.session.add(verification)
    verifications._finish(verification, {"ok": True, "checked": count})
    db.session.commit()
