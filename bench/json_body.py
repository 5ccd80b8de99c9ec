"""What a large JSON body costs the web process, next to an empty request on the same route.

    .venv/bin/python -m bench.json_body [--requests 5] [--megabytes 2]

Starts one gunicorn sync worker (production settings, rate limits off) on a free loopback port against
a PostgreSQL database and a Redis database number of its own, then sends, one at a time, to a few
routes (public and signed-in, GET and POST) an empty request and a request with a JSON body of
`--megabytes` MB (`[0,0,…]`, the shape that cost most to walk). It prints, per route and body, the
status, the size of the answer, the wall time per request and the CPU time the worker spent per request
(read from /proc, so a refused body the client could not finish sending still counts), and the ratio
of each to the empty request. Everything is dropped afterwards.
"""
import argparse
import os
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests

from bench.common import ROOT, free_port, migrate, scratch_postgres, scratch_redis
from bench.stack import stop, wait_ready

VENV_BIN = Path(sys.executable).parent
PASSWORD = "bench-password-123"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=5, help="large-body requests per route (empty ones: 10×)")
    parser.add_argument("--megabytes", type=float, default=2.0)
    args = parser.parse_args()
    count = max(1, min(args.requests, 50))
    elements = int(args.megabytes * 1024 * 1024) // 2
    large = b"[" + b"0," * (elements - 1) + b"0]"
    # Under the JSON limit, NUL strings in a list: what the 422 that names them costs to answer.
    nuls = b"[" + b",".join([b'"\\u0000"'] * 6000) + b"]"
    with scratch_postgres("vm_bench_json") as database_url, scratch_redis() as redis_url:
        migrate(database_url)
        volunteer_login = create_volunteer(database_url)
        env = {**os.environ, "APP_ENV": "production", "SECRET_KEY": secrets.token_urlsafe(48),
               "DATABASE_URL": database_url, "REDIS_URL": redis_url, "RATELIMIT_ENABLED": "false",
               "UPLOAD_DIR": str(ROOT / "bench" / "out" / "uploads")}
        port = free_port()
        web = start_gunicorn(env, port)
        try:
            wait_ready(f"http://127.0.0.1:{port}")
            worker_pid = gunicorn_worker(web)
            token = requests.post(f"http://127.0.0.1:{port}/api/v1/auth/login",
                                  json={"login": volunteer_login, "password": PASSWORD}, timeout=10).json()["access_token"]
            bearer = {"Authorization": f"Bearer {token}"}
            routes = [("GET", "/healthz", {}), ("POST", "/api/v1/auth/login", {}), ("GET", "/api/v1/me", bearer),
                      ("POST", "/api/v1/inspections", bearer)]
            rows = []
            for method, path, headers in routes:
                empty = measure(port, worker_pid, method, path, headers, None, count * 40)
                bodies = [(f"{args.megabytes:g} MB", measure(port, worker_pid, method, path, headers, large, count))]
                if method == "POST":
                    bodies.append((f"{len(nuls) // 1024} KB NUL", measure(port, worker_pid, method, path, headers, nuls, count)))
                rows.append((method, path, empty, bodies))
        finally:
            stop(web)
    print_table(rows, args.megabytes, count)


def create_volunteer(database_url: str) -> str:
    os.environ["DATABASE_URL"] = database_url
    from volunteer_api import create_app
    from volunteer_api.people.services import create_volunteer as create

    app = create_app({"ACCESS_LOG": False})
    with app.app_context():
        create(full_name="Bench Volunteer", phone="+77010000001", email=None, district="taraz", password=PASSWORD)
    return "+77010000001"


def start_gunicorn(env: dict, port: int) -> subprocess.Popen:
    log_dir = ROOT / "bench" / "out"
    log_dir.mkdir(parents=True, exist_ok=True)
    return subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "--workers", "1", "--bind", f"127.0.0.1:{port}", "--timeout", "120", "wsgi:app"],
        cwd=ROOT, env=env, stdout=open(log_dir / "json_body_gunicorn.log", "wb"), stderr=subprocess.STDOUT,
        start_new_session=True)


def gunicorn_worker(master: subprocess.Popen) -> int:
    children = subprocess.run(["pgrep", "-P", str(master.pid)], capture_output=True, text=True).stdout.split()
    if len(children) != 1:
        raise RuntimeError(f"expected one gunicorn worker, found {children}")
    return int(children[0])


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime + stime


def send(port: int, method: str, path: str, headers: dict, body: bytes | None) -> tuple[int | None, int]:
    """One request on a fresh connection; (status, bytes of the answer).

    The body is sent from a thread while this one reads, because a server that refuses a body before
    reading it answers and closes while the client is still sending. A reset before any answer
    arrived is reported as status None.
    """
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close",
             f"Content-Length: {len(body) if body else 0}"]
    if body is not None:
        lines.append("Content-Type: application/json")
    lines += [f"{name}: {value}" for name, value in headers.items()]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode()
    with socket.create_connection(("127.0.0.1", port), timeout=120) as sock:
        sender = threading.Thread(target=_send_quietly, args=(sock, head + (body or b"")), daemon=True)
        sender.start()
        answer = bytearray()
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except (ConnectionResetError, BrokenPipeError):
            pass
        sender.join(timeout=120)
    if not answer.startswith(b"HTTP/"):
        return None, 0
    header_end = answer.find(b"\r\n\r\n")
    return int(answer.split(b" ", 2)[1]), len(answer) - header_end - 4


def _send_quietly(sock: socket.socket, data: bytes) -> None:
    try:
        sock.sendall(data)
    except OSError:
        pass  # the server answered and closed before the whole body went out


def measure(port: int, worker_pid: int, method: str, path: str, headers: dict, body: bytes | None, count: int) -> dict:
    walls, statuses, sizes = [], set(), set()
    cpu_before = cpu_seconds(worker_pid)
    for _ in range(count):
        started = time.perf_counter()
        status, size = send(port, method, path, headers, body)
        walls.append(time.perf_counter() - started)
        statuses.add(status)
        sizes.add(size)
    cpu = (cpu_seconds(worker_pid) - cpu_before) / count
    return {"wall_ms": statistics.median(walls) * 1000, "cpu_ms": cpu * 1000, "statuses": statuses,
            "answer_bytes": max(sizes)}


def print_table(rows: list, megabytes: float, count: int) -> None:
    print(f"\nJSON body cost — one gunicorn sync worker, loopback; {count} requests per body ({megabytes:g} MB of "
          f"[0,0,…]; a list of NUL strings), {count * 40} empty ones, per route")
    print(f"{'route':<26} {'body':<11} {'status':<9} {'answer B':>9} {'wall ms':>9} {'CPU ms':>9} "
          f"{'wall ×':>8} {'CPU ×':>8}")
    for method, path, empty, bodies in rows:
        # CPU comes in clock ticks: an average over requests that used none is taken as one tick spread over them.
        empty_cpu = empty["cpu_ms"] or 1000 / CLOCK_TICKS / (count * 40)
        for label, figures in (("empty", empty), *bodies):
            statuses = ",".join(str(s) for s in sorted(figures["statuses"], key=str))
            wall_ratio = figures["wall_ms"] / empty["wall_ms"]
            cpu_ratio = figures["cpu_ms"] / empty_cpu
            print(f"{method + ' ' + path:<26} {label:<11} {statuses:<9} {figures['answer_bytes']:>9} "
                  f"{figures['wall_ms']:>9.1f} {figures['cpu_ms']:>9.1f} {wall_ratio:>7.1f}× {cpu_ratio:>7.1f}×")


if __name__ == "__main__":
    main()
