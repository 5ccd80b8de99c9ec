"""The photo store's two back ends behind one interface: local files and S3 (a real SeaweedFS on loopback).

Every test here runs against both back ends on both passes; the photo tests of the API (test_photos,
test_photo_reading, test_backups, test_quotas) run on the pass's store: files with SQLite, S3 with PostgreSQL.
"""
import hashlib
import http.client
import http.server
import io
import os
import threading
import urllib.parse
import tracemalloc

import pytest
from PIL import Image

from tests.conftest import PHOTO_BACKEND, PHOTO_BACKENDS
from tests.field_support import create_site, file_inspection
from tests.photo_store_support import stored_bytes, stored_keys, use_an_unreachable_s3_store
from tests.support import concurrently

both_stores = pytest.mark.parametrize("photo_store", PHOTO_BACKENDS, indirect=True)
KEY = "ab/" + "ab" * 32


@both_stores
def test_an_object_comes_back_byte_for_byte_and_is_never_overwritten(photo_store):
    first, other = os.urandom(70_000), os.urandom(70_000)
    assert photo_store.is_empty() and not photo_store.exists(KEY)
    assert photo_store.put(KEY, first) is True
    assert photo_store.put(KEY, other) is False  # write-once: the first bytes stay
    assert photo_store.exists(KEY) and not photo_store.is_empty()
    opened = photo_store.open(KEY)
    assert opened.size == len(first)
    with opened.file as stored:
        assert stored.read() == first
    assert stored_keys(photo_store) == [KEY]


@both_stores
def test_writers_racing_on_one_key_leave_one_whole_object_and_one_winner(photo_store):
    bodies = [os.urandom(300_000) for _ in range(8)]
    turns = iter(range(8))

    def write_one_body():
        turn = next(turns)
        return turn, photo_store.put(KEY, bodies[turn])

    results = concurrently(8, write_one_body)
    winners = [n for n, wrote in results if wrote]
    assert len(winners) == 1
    assert stored_bytes(photo_store, KEY) == bodies[winners[0]]
    assert stored_keys(photo_store) == [KEY]  # no temporary file left behind


@pytest.mark.parametrize("photo_store", ["s3"], indirect=True)
def test_s3_refuses_an_overwrite_even_when_a_racer_passed_the_existence_check(photo_store, monkeypatch):
    """SeaweedFS honours `If-None-Match: *` on PUT (412 PreconditionFailed): the conditional put, not the
    check before it, is what keeps an original from being replaced."""
    first = os.urandom(10_000)
    assert photo_store.put(KEY, first)
    monkeypatch.setattr(photo_store, "exists", lambda key: False)  # as if the object appeared just after the check
    assert photo_store.put(KEY, os.urandom(10_000)) is False
    assert stored_bytes(photo_store, KEY) == first


@both_stores
def test_a_missing_object_is_file_not_found_and_a_key_outside_the_store_is_refused(photo_store):
    with pytest.raises(FileNotFoundError):
        photo_store.open(KEY)
    for key in ("../escape", "/etc/passwd", "ab/../../escape", "", "ab//cd"):
        with pytest.raises(ValueError, match="outside the store"):
            photo_store.put(key, b"x")


@both_stores
def test_reads_stream_and_seek_anywhere(photo_store):
    data = os.urandom(3 * 1024 * 1024 + 17)
    photo_store.put(KEY, data)
    with photo_store.open(KEY).file as stored:
        assert stored.read(1000) == data[:1000]
        stored.seek(0)  # Pillow goes back to the start after sniffing the format
        assert stored.read(16) == data[:16]
        stored.seek(2_500_000)
        assert stored.tell() == 2_500_000 and stored.read(4096) == data[2_500_000:2_504_096]
        stored.seek(-10, io.SEEK_END)
        assert stored.read() == data[-10:] and stored.read(5) == b""
        stored.seek(100)
        assert stored.read() == data[100:]


def ten_mb_photo() -> bytes:
    """A PNG of noise just under the 10 MB limit (noise does not compress)."""
    image = Image.frombytes("RGB", (1830, 1830), os.urandom(1830 * 1830 * 3))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def resident_kib() -> int:
    with open("/proc/self/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


@both_stores
def test_a_10_mb_original_streams_byte_for_byte_without_being_held_in_memory(
        app, client, admin, volunteer, photo_store, run_jobs, capsys):
    data = ten_mb_photo()
    assert 9_500_000 < len(data) <= app.config["MAX_PHOTO_BYTES"]
    inspection = file_inspection(client, volunteer, create_site(client, admin)["id"])
    uploaded = client.post(f"/api/v1/inspections/{inspection['id']}/photos", headers=volunteer.headers,
                           data={"file": (io.BytesIO(data), "noise.png")}, content_type="multipart/form-data")
    assert uploaded.status_code == 201, uploaded.get_json()
    run_jobs()
    url = f"/api/v1/inspections/{inspection['id']}/photos/{uploaded.get_json()['id']}"

    digest, received = hashlib.sha256(), 0
    rss_before = resident_kib()
    tracemalloc.start()
    try:
        response = client.get(url, headers=volunteer.headers, buffered=False)
        assert response.status_code == 200 and int(response.headers["Content-Length"]) == len(data)
        for chunk in response.response:
            digest.update(chunk)
            received += len(chunk)
        response.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    rss_after = resident_kib()
    with capsys.disabled():
        print(f"\n[{photo_store}] streamed {received:,} bytes: Python allocations peaked at {peak / 1024:,.0f} KiB; "
              f"RSS {rss_before:,} KiB before, {rss_after:,} KiB after")
    assert received == len(data) and digest.hexdigest() == hashlib.sha256(data).hexdigest()
    assert peak < 2 * 1024 * 1024  # a few read buffers, never the 10 MB object

    etag = response.headers["ETag"]
    assert client.get(url, headers={**volunteer.headers, "If-None-Match": etag}).status_code == 304
    tail = client.get(url, headers={**volunteer.headers, "Range": "bytes=9000000-9000099"})
    assert tail.status_code == 206 and tail.data == data[9_000_000:9_000_100]
    assert tail.headers["Content-Range"] == f"bytes 9000000-9000099/{len(data)}"
    preview = client.get(f"{url}/preview?size=320", headers=volunteer.headers)
    assert preview.status_code == 200 and preview.data[:3] == b"\xff\xd8\xff"


@pytest.mark.worker
@pytest.mark.skipif(PHOTO_BACKEND != "s3", reason="the run's store is local files: no store shared with the worker")
def test_the_worker_process_makes_the_previews_in_the_shared_s3_store(app, client, admin, volunteer, run_jobs):
    """The web process and the real worker process are two hosts as far as photos go: one S3 store."""
    from volunteer_api.photo_storage import storage_for

    store = storage_for(app.config)
    image = Image.frombytes("RGB", (64, 48), os.urandom(64 * 48 * 3))  # bytes no other test stores
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    inspection = file_inspection(client, volunteer, create_site(client, admin)["id"])
    response = client.post(f"/api/v1/inspections/{inspection['id']}/photos", headers=volunteer.headers,
                           data={"file": (io.BytesIO(buffer.getvalue()), "p.png")}, content_type="multipart/form-data")
    assert response.status_code == 201
    sha256 = response.get_json()["sha256"]
    made = [f"{sha256[:2]}/{sha256}.preview-{size}.jpg" for size in (320, 1280)]
    run_jobs(lambda: all(store.exists(key) for key in made), timeout=30)


@pytest.mark.parametrize("value", ["s3://", "s3://Photos/x", "s3://ab/x", "ftp://bucket/x", "file:/srv/photos",
                                   "s3://bucket:9000/x", "s3://key:secret@bucket/x", "s3://bucket/../x",
                                   "s3://bucket/x?region=kz", "bucket/prefix"])
def test_a_bad_photo_storage_url_refuses_to_start_and_says_what_is_accepted(monkeypatch, make_app, value):
    from config import load_config

    monkeypatch.setenv("SECRET_KEY", "s" * 48)
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://db/volunteer_monitor")
    monkeypatch.setenv("REDIS_URL", "redis://redis-host:6379/0")
    monkeypatch.setenv("AUDIT_KEY", "a" * 48)
    monkeypatch.setenv("PHOTO_STORAGE", value)
    with pytest.raises(RuntimeError, match=r"PHOTO_STORAGE=.*'s3://bucket/prefix'"):
        load_config("production")
    with pytest.raises(RuntimeError, match="PHOTO_STORAGE"):
        make_app({"PHOTO_STORAGE": value})  # development too: a store that cannot work never starts


@pytest.mark.parametrize("endpoint", ["127.0.0.1:8333", "ftp://s3.example.kz", "http://"])
def test_a_bad_s3_endpoint_refuses_to_start(monkeypatch, endpoint):
    from config import load_config

    monkeypatch.setenv("PHOTO_STORAGE", "s3://photos/taraz")
    monkeypatch.setenv("S3_ENDPOINT_URL", endpoint)
    with pytest.raises(RuntimeError, match="S3_ENDPOINT_URL"):
        load_config("development")


@pytest.mark.parametrize(("value", "expected"), [(None, ("file", "", "")), ("file:", ("file", "", "")),
                                                 ("s3://photos", ("s3", "photos", "")),
                                                 ("s3://vm-photos.kz/zhambyl/originals/", ("s3", "vm-photos.kz", "zhambyl/originals"))])
def test_good_photo_storage_urls_name_their_bucket_and_prefix(value, expected):
    from config.storage import parse_photo_storage

    assert tuple(parse_photo_storage(value)) == expected


def test_an_upload_while_the_s3_store_does_not_answer_is_a_503_and_stores_nothing(
        app, client, admin, volunteer, photo_store, monkeypatch):
    from sqlalchemy import func, select

    from tests.field_support import image_bytes
    from volunteer_api.extensions import db
    from volunteer_api.inspections.models import Photo

    use_an_unreachable_s3_store(app, monkeypatch)
    inspection = file_inspection(client, volunteer, create_site(client, admin)["id"])
    response = client.post(f"/api/v1/inspections/{inspection['id']}/photos", headers=volunteer.headers,
                           data={"file": (io.BytesIO(image_bytes()), "p.jpg")}, content_type="multipart/form-data")
    assert response.status_code == 503 and response.content_type == "application/problem+json"
    assert int(response.headers["Retry-After"]) > 0 and response.get_json()["status"] == 503
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Photo)) == 0


class _AwsWithoutListBucket(http.server.ThreadingHTTPServer):
    """A loopback proxy in front of the run's S3 server that answers as AWS does to credentials without
    s3:ListBucket: a HEAD of a missing key is 403, not 404. Everything else is passed through unchanged."""

    daemon_threads = True

    def __init__(self, upstream: str):
        self.upstream = urllib.parse.urlsplit(upstream)
        super().__init__(("127.0.0.1", 0), _ForwardingHandler)

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _ForwardingHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def _forward(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        upstream = http.client.HTTPConnection(self.server.upstream.hostname, self.server.upstream.port, timeout=30)
        try:
            upstream.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
            for name, value in self.headers.items():
                upstream.putheader(name, value)  # Host too: the signature covers it
            upstream.endheaders(body)
            answer = upstream.getresponse()
            status, headers, payload = answer.status, answer.getheaders(), answer.read()
        finally:
            upstream.close()
        if self.command == "HEAD" and status == 404:
            status, headers = 403, [("Content-Length", "0")]
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(payload)) if self.command != "HEAD" else
                         dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

    def log_message(self, *args):  # quiet: the test's assertions say what went wrong
        pass


@pytest.fixture
def aws_without_list_bucket(s3_server):
    proxy = _AwsWithoutListBucket(s3_server.endpoint_url)
    thread = threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()
    thread.join(10)


@pytest.mark.parametrize("photo_store", ["s3"], indirect=True)
def test_without_s3_list_bucket_a_missing_key_is_403_and_the_conditional_put_still_writes_once(
        photo_store, aws_without_list_bucket):
    from volunteer_api.photo_storage import S3PhotoStorage, _s3_client

    store = S3PhotoStorage(_s3_client(aws_without_list_bucket.endpoint_url), photo_store.bucket, photo_store.prefix)
    first, other = os.urandom(50_000), os.urandom(50_000)
    assert store.exists(KEY) is False  # 403: not known to be there
    assert store.put(KEY, first) is True
    assert store.exists(KEY) is True
    assert store.put(KEY, other) is False  # If-None-Match: * refuses it (412)
    assert stored_bytes(photo_store, KEY) == first


@pytest.mark.parametrize("photo_store", ["s3"], indirect=True)
def test_an_upload_to_aws_without_s3_list_bucket_is_stored_and_its_retry_answers_the_same_photo(
        app, client, admin, volunteer, photo_store, aws_without_list_bucket, monkeypatch):
    from tests.field_support import image_bytes

    monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", aws_without_list_bucket.endpoint_url)
    inspection = file_inspection(client, volunteer, create_site(client, admin)["id"])
    data = image_bytes()

    def upload():
        return client.post(f"/api/v1/inspections/{inspection['id']}/photos", headers=volunteer.headers,
                           data={"file": (io.BytesIO(data), "p.jpg")}, content_type="multipart/form-data")

    first = upload()
    assert first.status_code == 201, first.get_json()
    again = upload()
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    digest = hashlib.sha256(data).hexdigest()
    assert stored_bytes(photo_store, f"{digest[:2]}/{digest}") == data


@pytest.mark.parametrize("photo_store", ["s3"], indirect=True)
def test_a_ranged_read_while_the_s3_store_does_not_answer_is_the_stores_503(
        app, photo_store, aws_without_list_bucket, monkeypatch):
    """A seek drops the streamed GET; the next read's ranged GET meets a store that stopped answering."""
    from volunteer_api.photo_storage import PhotoStoreUnavailable, S3PhotoStorage, _s3_client

    data = os.urandom(600_000)
    photo_store.put(KEY, data)
    store = S3PhotoStorage(_s3_client(aws_without_list_bucket.endpoint_url), photo_store.bucket, photo_store.prefix)
    with store.open(KEY).file as stored:
        assert stored.read(1000) == data[:1000]
        aws_without_list_bucket.shutdown()
        aws_without_list_bucket.server_close()  # nothing listens there any more: connections are refused
        stored.seek(500_000)
        with pytest.raises(PhotoStoreUnavailable):
            stored.read(1000)
