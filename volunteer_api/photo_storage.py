"""Where photo bytes live: one narrow interface, by content key, write-once, with two back ends.

Callers name an object by a key they derive from its content (`ab/abcdef…` for an original, the same
with a suffix for a derivative); an object, once written, never changes. `put` is atomic: a reader
sees the whole object or none; of writers racing on one key, one stores its bytes (True) and the others
are told it is taken (False), none fails. `open` streams: nothing reads a whole object into memory.

- `LocalPhotoStorage`: files under UPLOAD_DIR (the default, `PHOTO_STORAGE` unset or `file:`).
- `S3PhotoStorage`: any S3-compatible store (`PHOTO_STORAGE=s3://bucket/prefix`, `S3_ENDPOINT_URL`),
  through boto3, so several hosts share one store.
"""
import io
import logging
import os
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, NamedTuple

from flask import current_app

from config.storage import parse_photo_storage

from .errors import ServiceUnavailable

log = logging.getLogger(__name__)

# Read ahead from S3 in blocks of this size: a range or a seek inside a block costs no request.
S3_READ_BUFFER = 256 * 1024
# A conditional put that meets another in flight (AWS answers 409) is tried again this many times.
S3_CONFLICT_RETRIES = 5
# A client may try again after this long when the store does not answer (503).
RETRY_AFTER_SECONDS = 30


class PhotoStoreUnavailable(ServiceUnavailable):
    """The photo store does not answer (refused, timed out, or a 5xx of the S3 server): a 503, not a 500."""

    def __init__(self, store):
        super().__init__(headers={"Retry-After": str(RETRY_AFTER_SECONDS)})
        self.store = str(store)

    def __str__(self) -> str:
        return f"the photo store {self.store} does not answer"


class StoredObject(NamedTuple):
    """An open stored object: read it in chunks from `file` (close it), `size` bytes long."""

    file: BinaryIO
    size: int


def _checked_key(key: str) -> str:
    if not key or key.startswith("/") or any(part in ("", ".", "..") for part in key.split("/")):
        raise ValueError(f"storage key outside the store: {key!r}")
    return key


class LocalPhotoStorage:
    """Objects as files under a root folder; the key is the relative path."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def __str__(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        path = (self.root / _checked_key(key)).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"storage key outside the store: {key!r}")
        return path

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def put(self, key: str, data: bytes) -> bool:
        """Store the bytes under `key` unless an object is there already; True when this call wrote it.

        Written to a temporary file, flushed to disk, then linked into place: the link fails when a
        concurrent writer got there first, and the key never holds a partial file.
        """
        path = self._path(key)
        if path.exists():
            return False
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=".upload-")
        try:
            with os.fdopen(handle, "wb") as temp:
                temp.write(data)
                temp.flush()
                os.fsync(temp.fileno())
            try:
                os.link(temp_name, path)
            except FileExistsError:
                return False
            return True
        finally:
            Path(temp_name).unlink(missing_ok=True)

    def open(self, key: str) -> StoredObject:
        """The object for reading; FileNotFoundError when there is none."""
        file = self._path(key).open("rb")
        return StoredObject(file=file, size=os.fstat(file.fileno()).st_size)

    def keys(self) -> Iterator[str]:
        """Every file under the root, in no particular order (a put's temporary file left behind shows too)."""
        if not self.root.is_dir():
            return
        for path in self.root.rglob("*"):
            if path.is_file():
                yield path.relative_to(self.root).as_posix()

    def is_empty(self) -> bool:
        return next(self.keys(), None) is None


class S3PhotoStorage:
    """Objects in an S3 bucket, under `prefix/`; the key is the rest of the object's name.

    Write-once without a lock: `put` asks first (a retry of a stored upload sends nothing), then writes
    with `If-None-Match: *`, which the server refuses (412) when the object appeared meanwhile. A server
    that ignored the condition would let a racer store the same bytes again under the same content key:
    harmless, as every writer of a key holds identical bytes.
    """

    def __init__(self, client, bucket: str, prefix: str = ""):
        self.client, self.bucket, self.prefix = client, bucket, prefix.strip("/")

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def _name(self, key: str) -> str:
        key = _checked_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    @contextmanager
    def _answering(self):
        """Turn "the store does not answer" (no connection, a timeout, a 5xx after boto3's retries) into a 503."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            yield
        except BotoCoreError as error:
            log.error("photo store %s: %s", self, error)
            raise PhotoStoreUnavailable(self) from error
        except ClientError as error:
            if _status(error) >= 500:
                log.error("photo store %s: %s", self, error)
                raise PhotoStoreUnavailable(self) from error
            raise

    def exists(self, key: str) -> bool:
        """True when the object is there; False when it is not, or is not known to be there.

        Without s3:ListBucket, AWS answers a HEAD of a missing key 403, not 404 (it will not say what is
        absent): that is "not known to be there" too. Every caller then writes the key with a conditional
        put, which keeps it write-once whatever this answered (see `put`).
        """
        from botocore.exceptions import ClientError

        try:
            with self._answering():
                self.client.head_object(Bucket=self.bucket, Key=self._name(key))
        except ClientError as error:
            if _status(error) in (403, 404):
                return False
            raise
        return True

    def put(self, key: str, data: bytes) -> bool:
        """Store the bytes under `key` unless an object is there already; True when this call wrote it."""
        from botocore.exceptions import ClientError

        # The HEAD only spares sending the bytes again; `If-None-Match: *` is what keeps the key write-once.
        if self.exists(key):
            return False
        for attempt in range(S3_CONFLICT_RETRIES):
            try:
                with self._answering():
                    self.client.put_object(Bucket=self.bucket, Key=self._name(key), Body=data, IfNoneMatch="*")
                return True
            except ClientError as error:
                if _status(error) == 412:  # another writer stored it first
                    return False
                # 409: a concurrent conditional write of the key is still in flight (AWS); once it ends,
                # asking again gets 412 (or succeeds, if that write failed).
                if _status(error) != 409 or attempt == S3_CONFLICT_RETRIES - 1:
                    raise
                time.sleep(0.1 * (attempt + 1))
        return False

    def open(self, key: str) -> StoredObject:
        """The object for reading, streamed from the store; FileNotFoundError when there is none."""
        from botocore.exceptions import ClientError

        name = self._name(key)
        try:
            with self._answering():
                response = self.client.get_object(Bucket=self.bucket, Key=name)
        except ClientError as error:
            if _status(error) == 404:
                raise FileNotFoundError(f"{self}/{key}") from None
            raise
        raw = _S3ObjectReader(self, name, response["Body"], response["ContentLength"])
        return StoredObject(file=io.BufferedReader(raw, buffer_size=S3_READ_BUFFER), size=raw.size)

    def keys(self) -> Iterator[str]:
        """Every stored key under the prefix, page by page (never the whole listing in memory)."""
        start = f"{self.prefix}/" if self.prefix else ""
        with self._answering():
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=start):
                for item in page.get("Contents", ()):
                    yield item["Key"][len(start):]

    def is_empty(self) -> bool:
        start = f"{self.prefix}/" if self.prefix else ""
        with self._answering():
            return not self.client.list_objects_v2(Bucket=self.bucket, Prefix=start, MaxKeys=1).get("Contents")


class _S3ObjectReader(io.RawIOBase):
    """An S3 object as a seekable file: one streamed GET read in the caller's chunks; a seek elsewhere
    closes it and the next read starts a ranged GET there. Pillow seeks; HTTP ranges seek once."""

    def __init__(self, store: "S3PhotoStorage", name: str, body, size: int):
        super().__init__()
        self._store, self._name = store, name
        self._body, self._position, self.size = body, 0, size

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        target = base + offset
        if target < 0:
            raise ValueError(f"negative seek position {target}")
        if target != self._position:
            self._drop_body()
            self._position = target
        return self._position

    def readinto(self, buffer) -> int:
        if self._position >= self.size:
            return 0
        # A store that stops answering (a refused ranged GET, a read timing out) is its 503, as in `open`.
        with self._store._answering():
            if self._body is None:
                self._body = self._store.client.get_object(Bucket=self._store.bucket, Key=self._name,
                                                           Range=f"bytes={self._position}-")["Body"]
            chunk = self._body.read(len(buffer))
        if not chunk:
            raise OSError(f"s3://{self._store.bucket}/{self._name} ended at byte {self._position} of {self.size}")
        buffer[:len(chunk)] = chunk
        self._position += len(chunk)
        return len(chunk)

    def _drop_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._drop_body()
        super().close()


def _status(error) -> int:
    return error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)


_s3_clients: dict = {}
_s3_clients_lock = threading.Lock()


def _s3_client(endpoint_url: str | None):
    """One boto3 client per process and endpoint (clients are thread-safe; making one costs ~50 ms).

    Keyed by process id too: a client made before a fork (gunicorn --preload) is not reused in the child.
    """
    cache_key = (os.getpid(), endpoint_url)
    with _s3_clients_lock:
        client = _s3_clients.get(cache_key)
        if client is None:
            import boto3
            from botocore.config import Config

            settings = Config(connect_timeout=5, read_timeout=30, retries={"mode": "standard", "max_attempts": 3},
                              max_pool_connections=32,
                              # A self-hosted endpoint is one host name: buckets in the path, not in DNS.
                              s3={"addressing_style": "path"} if endpoint_url else {})
            client = boto3.session.Session().client("s3", endpoint_url=endpoint_url, config=settings)
            _s3_clients[cache_key] = client
        return client


def storage_for(settings) -> LocalPhotoStorage | S3PhotoStorage:
    """The store the settings (a Flask config) name: PHOTO_STORAGE, S3_ENDPOINT_URL, UPLOAD_DIR."""
    location = parse_photo_storage(settings.get("PHOTO_STORAGE"))
    if location.kind == "s3":
        return S3PhotoStorage(_s3_client(settings.get("S3_ENDPOINT_URL")), location.bucket, location.prefix)
    return LocalPhotoStorage(settings["UPLOAD_DIR"])


def photo_storage() -> LocalPhotoStorage | S3PhotoStorage:
    """The configured store of this app."""
    return storage_for(current_app.config)
