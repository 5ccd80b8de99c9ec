"""How long the CSV import of the 144 Zhambyl volunteers takes (embedded mode, SQLite file).

    .venv/bin/python bench/import_volunteers.py [--rounds 5]
"""
import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DISTRICTS = ["taraz", "baizak", "zhambyl", "zhualy", "kordai", "merke", "moiynkum", "sarysu", "talas", "shu", "ryskulov"]


def register_csv(offset: int) -> bytes:
    rows = "".join(
        f"Волонтёр №{n},+7702{offset + n:07d},v{offset + n}@example.kz,{DISTRICTS[n % 11]}\n" for n in range(144)
    )
    return ("\ufefffull_name,phone,email,district\n" + rows).encode()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="vm-bench-import-")
    os.environ.update({"DATABASE_URL": f"sqlite:///{workdir}/bench.db", "RATELIMIT_ENABLED": "false"})
    os.environ.pop("REDIS_URL", None)
    from flask_migrate import upgrade

    from volunteer_api import create_app
    from volunteer_api.people.services import create_admin

    app = create_app({"ACCESS_LOG": False})
    with app.app_context():
        upgrade()
        create_admin(login="bench@example.kz", password="bench password", full_name="Bench")
    client = app.test_client()
    token = client.post("/api/v1/auth/login", json={"login": "bench@example.kz", "password": "bench password"}).get_json()["access_token"]
    timings = []
    for round_number in range(args.rounds):
        body = {"file": (io.BytesIO(register_csv(round_number * 1000)), "zhambyl.csv")}
        started = time.perf_counter()
        response = client.post("/api/v1/volunteers/import", data=body, content_type="multipart/form-data",
                               headers={"Authorization": f"Bearer {token}"})
        timings.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 201 and response.get_json()["created"] == 144, response.get_json()
    print(f"CSV import of 144 volunteers, {args.rounds} rounds: median {statistics.median(timings):.0f} ms, "
          f"max {max(timings):.0f} ms")


if __name__ == "__main__":
    main()
