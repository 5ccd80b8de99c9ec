"""Benchmark: `flask backup` and `flask restore` of the benchmark's data on PostgreSQL.

Seeds a scratch database with bench/seed.py (default: the benchmark's full scale, 1,000,000 inspections
and 1,000,000 savings reports) plus `--photos` originals of 200 KB, then times the backup (pg_dump and
the photo copy), the restore into a second, empty database and store (pg_restore and the copy), and the
checks after it (the audit chain, every photo's sha256, the totals against a recompute).

    .venv/bin/python bench/backup.py [--inspections 1000000] [--savings 1000000] [--photos 500]
"""
import argparse
import hashlib
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import migrate, scratch_postgres  # noqa: E402 - needs the project root on the path
from bench.seed import seed  # noqa: E402


def directory_bytes(path: Path) -> int:
    return sum(item.stat().st_size for item in path.rglob("*") if item.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--volunteers", type=int, default=10_000)
    parser.add_argument("--sites", type=int, default=50_000)
    parser.add_argument("--inspections", type=int, default=1_000_000)
    parser.add_argument("--savings", type=int, default=1_000_000)
    parser.add_argument("--photos", type=int, default=500)
    args = parser.parse_args()
    os.environ.setdefault("RATELIMIT_ENABLED", "false")
    work = Path(tempfile.mkdtemp(prefix="vm-bench-backup-"))
    try:
        with scratch_postgres("vm_bench_backup") as source_url, scratch_postgres("vm_bench_restore") as target_url:
            migrate(source_url)
            started = time.perf_counter()
            seed(source_url, volunteers=args.volunteers, sites=args.sites, inspections=args.inspections,
                 savings=args.savings)
            print(f"seeded in {time.perf_counter() - started:.0f} s", flush=True)
            run(source_url, target_url, work, args.photos)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run(source_url: str, target_url: str, work: Path, photos: int) -> None:
    from sqlalchemy import select, text

    from volunteer_api import create_app
    from volunteer_api.database import db
    from volunteer_api.inspections.models import Inspection
    from volunteer_api.inspections.photos import store_original
    from volunteer_api.operations.backups import back_up, check_restored, restore
    from volunteer_api.savings.totals import recompute_totals

    os.environ.update({"DATABASE_URL": source_url, "UPLOAD_DIR": str(work / "store")})
    source = create_app({"ACCESS_LOG": False})
    with source.app_context():
        recompute_totals()
        db.session.commit()
        inspection_ids = db.session.scalars(select(Inspection.id).order_by(Inspection.id).limit(photos)).all()
        rows = []
        for inspection_id in inspection_ids:
            data = os.urandom(200 * 1024)
            sha256 = hashlib.sha256(data).hexdigest()
            store_original(sha256, data)
            rows.append({"inspection_id": inspection_id, "sha256": sha256, "size": len(data)})
        if rows:
            db.session.execute(text(
                "INSERT INTO photos (inspection_id, sha256, content_type, size_bytes, width, height, created_at) "
                "VALUES (:inspection_id, :sha256, 'image/jpeg', :size, 640, 480, now())"), rows)
        db.session.commit()
        started = time.perf_counter()
        manifest = back_up(work / "backup")
        backup_seconds = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    size = directory_bytes(work / "backup")
    print(f"backup: {backup_seconds:.1f} s for {manifest['photos']} photos and the database "
          f"({size / 1e6:,.0f} MB written)", flush=True)

    os.environ.update({"DATABASE_URL": target_url, "UPLOAD_DIR": str(work / "restored")})
    target = create_app({"ACCESS_LOG": False})
    with target.app_context():
        started = time.perf_counter()
        report = restore(work / "backup")
        restore_seconds = time.perf_counter() - started
        started = time.perf_counter()
        check_restored()
        check_seconds = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    print(f"restore: {restore_seconds:.1f} s including the checks ({check_seconds:.1f} s of checks alone); "
          f"chain ok={report.audit['ok']}, photos bad={len(report.photos_bad)}, totals differ={len(report.totals_differ)}")


if __name__ == "__main__":
    main()
