"""A real PgBouncer (Debian's `pgbouncer`) in transaction mode on a free loopback port, for the PostgreSQL pass.

Started by the test suite itself (config in a temp dir, any user name accepted, every database passed
to the local PostgreSQL as its admin user): the concurrency tests and the sync proof reach the database
through it, as the web hosts of a large deployment do. It must start: a missing binary fails the run.
"""
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from tests.support import free_port

PGBOUNCER = shutil.which("pgbouncer") or "/usr/sbin/pgbouncer"



class PgBouncer:
    def __init__(self, process: subprocess.Popen, port: int, folder: Path):
        self.process, self.port, self.folder = process, port, folder

    def url_for(self, database_url: str) -> str:
        """`database_url` (a database of the local PostgreSQL) reached through this PgBouncer instead."""
        return make_url(database_url).set(host="127.0.0.1", port=self.port).render_as_string(hide_password=False)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # PgBouncer's immediate shutdown
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_pgbouncer(server_url: str, *, pool_size: int = 20) -> PgBouncer:
    """PgBouncer in transaction mode in front of the PostgreSQL of `server_url`; returns once it answers."""
    if not Path(PGBOUNCER).exists():
        raise RuntimeError("pgbouncer is not installed (scripts/bootstrap installs Debian's package)")
    server = make_url(server_url)
    folder = Path(tempfile.mkdtemp(prefix="vm-pgbouncer-"))
    as_root = os.geteuid() == 0
    last_error = None
    for _ in range(3):  # a free port can be taken between the probe and PgBouncer's bind: try another
        port = free_port()
        config = folder / "pgbouncer.ini"
        config.write_text("\n".join([
            "[databases]",
            f"* = host={server.host or '127.0.0.1'} port={server.port or 5432} user={server.username or 'postgres'}"
            + (f" password={server.password}" if server.password else ""),
            "[pgbouncer]",
            "listen_addr = 127.0.0.1",
            f"listen_port = {port}",
            "unix_socket_dir =",
            "auth_type = any",
            "pool_mode = transaction",
            "max_client_conn = 500",
            f"default_pool_size = {pool_size}",
            "server_reset_query =",
            f"logfile = {folder / 'pgbouncer.log'}",
            f"pidfile = {folder / 'pgbouncer.pid'}",
            "",
        ]))
        if as_root:  # PgBouncer refuses to run as root: it runs as the postgres system user
            shutil.chown(folder, "postgres")
            folder.chmod(0o755)
            config.chmod(0o644)
        command = [PGBOUNCER, *(["-u", "postgres"] if as_root else []), str(config)]
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        bouncer = PgBouncer(process, port, folder)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and process.poll() is None:
            try:
                with psycopg.connect(host="127.0.0.1", port=port, dbname="postgres",
                                     user=server.username or "postgres", connect_timeout=2,
                                     prepare_threshold=None) as connection:
                    connection.execute("SELECT 1")
                return bouncer
            except psycopg.OperationalError as exc:
                last_error = exc
                time.sleep(0.1)
        log = (folder / "pgbouncer.log")
        last_error = (process.stderr.read().decode(errors="replace") if process.poll() is not None else "") + (
            log.read_text(errors="replace")[-2000:] if log.exists() else "") or last_error
        if process.poll() is None:
            process.kill()
            process.wait()
    shutil.rmtree(folder, ignore_errors=True)
    raise RuntimeError(f"PgBouncer did not start: {last_error}")
