"""Reading a test's photo store the same way whichever back end holds it (local files or S3)."""
from tests.support import free_port
from volunteer_api.photo_storage import LocalPhotoStorage, S3PhotoStorage


def use_an_unreachable_s3_store(app, monkeypatch) -> None:
    """Point the app's photo store at an S3 endpoint on a loopback port nothing listens on (a store outage)."""
    monkeypatch.setitem(app.config, "PHOTO_STORAGE", "s3://photos/unreachable")
    monkeypatch.setitem(app.config, "S3_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "any")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "any")


def stored_keys(store) -> list[str]:
    """Every key in the store, sorted (a temporary file a local put left behind shows too)."""
    return sorted(store.keys())


def stored_originals(store) -> list[str]:
    """The keys but the previews (a job makes those after each upload)."""
    return [key for key in stored_keys(store) if ".preview-" not in key]


def stored_bytes(store, key: str) -> bytes:
    with store.open(key).file as stored:
        return stored.read()


def remove_stored(store, key: str) -> None:
    """Take an object away behind the store's back (the interface itself never deletes: write-once)."""
    if isinstance(store, LocalPhotoStorage):
        (store.root / key).unlink()
    elif isinstance(store, S3PhotoStorage):
        store.client.delete_object(Bucket=store.bucket, Key=store._name(key))
    else:
        raise TypeError(f"unknown photo store {store!r}")
