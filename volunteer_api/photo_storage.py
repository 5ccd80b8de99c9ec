"""Where photo bytes live: one narrow interface, by content key, write-once.

Callers name an object by a key they derive from its content (`ab/abcdef…` for an original, the same
with a suffix for a derivative); an object, once written, never changes. `put` is atomic: a reader
sees the whole object or none, and two writers racing on one key both succeed with the same bytes.
Only the local-disk back end exists today (UPLOAD_DIR); another back end (S3) implements the same
three methods and is chosen in `photo_storage()`.
"""
import os
import tempfile
from pathlib import Path
from typing import BinaryIO, NamedTuple

from flask import current_app


class StoredObject(NamedTuple):
    """An open stored object: read it in chunks from `file` (close it), `size` bytes long."""

    file: BinaryIO
    size: int


class LocalPhotoStorage:
    """Objects as files under a root folder; the key is the relative path."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
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


def photo_storage() -> LocalPhotoStorage:
    """The configured store of this app (UPLOAD_DIR on local disk)."""
    return LocalPhotoStorage(current_app.config["UPLOAD_DIR"])
