"""Phones: client settings, the 426 version gate, push devices, and alerts that reach them by Web Push or FCM."""
import base64
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from sqlalchemy import func, select

from tests.alert_helpers import flag_inspection, free_port, make_site, make_user
from tests.support import wait_for
from volunteer_api.alerts.models import AlertDelivery
from volunteer_api.devices.models import Device
from volunteer_api.extensions import db

V1 = "/api/v1"
GOOGLE_ENDPOINT = "https://fcm.googleapis.com/fcm/send/abc123"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


class Browser:
    """A browser's side of a push subscription: its key pair and auth secret, as the Push API makes them."""

    def __init__(self, endpoint: str):
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        public = self.private_key.public_key().public_bytes(serialization.Encoding.X962,
                                                            serialization.PublicFormat.UncompressedPoint)
        self.subscription = {"endpoint": endpoint, "expirationTime": None,
                             "keys": {"p256dh": b64url(public), "auth": b64url(self.auth)}}

    def decrypt(self, body: bytes) -> dict:
        return json.loads(http_ece.decrypt(body, private_key=self.private_key, auth_secret=self.auth,
                                           version="aes128gcm"))


class PushService(BaseHTTPRequestHandler):
    """A local push service: records what it is sent and answers with the status the test chose."""

    received: list = []
    status = 201

    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers["Content-Length"]))
        PushService.received.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
        self.send_response(PushService.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def push_service():
    PushService.received, PushService.status = [], 201
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), PushService)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield PushService, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def register(client, account, platform="web", push=None):
    push = push or Browser(GOOGLE_ENDPOINT).subscription
    return client.post(f"{V1}/devices", headers=account.headers, json={"platform": platform, "push": push})


# --- client settings and the version gate ----------------------------------------------------------

def test_client_config_names_the_minimum_versions_and_the_web_push_key(client):
    answer = client.get(f"{V1}/client-config").get_json()
    assert answer["min_version"] == {"android": "1.0.0", "ios": "1.0.0", "web": "1.0.0"}
    key = base64.urlsafe_b64decode(answer["web_push_public_key"] + "==")
    assert len(key) == 65 and key[0] == 4  # an uncompressed P-256 point, as pushManager.subscribe wants


def test_an_app_below_its_platforms_minimum_is_answered_426_with_the_minimums(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MIN_CLIENT_VERSIONS", {"android": "1.10.0", "ios": "2.0", "web": "1.0.0"})

    def districts(platform, version):
        return client.get(f"{V1}/districts", headers={"X-Client-Platform": platform, "X-Client-Version": version,
                                                      "Accept-Language": "en"})

    old = districts("android", "1.9.7")
    assert old.status_code == 426 and old.content_type == "application/problem+json"
    body = old.get_json()
    assert body["min_version"] == {"android": "1.10.0", "ios": "2.0", "web": "1.0.0"} and body["platform"] == "android"
    assert "update" in body["detail"]
    assert districts("android", "1.10.0").status_code == 200  # semantic, not string, comparison
    assert districts("android", "1.10.1").status_code == 200
    assert districts("ios", "1.99").status_code == 426
    assert districts("ios", "2.0.0").status_code == 200
    assert districts("desktop", "0.1").status_code == 200  # a platform we do not gate
    assert client.get(f"{V1}/districts", headers={"X-Client-Version": "0.1"}).status_code == 200
    assert districts("web", "not a version").status_code == 422
    # The one call an old app can still make: learning what it must update to.
    config = client.get(f"{V1}/client-config", headers={"X-Client-Platform": "android", "X-Client-Version": "0.1"})
    assert config.status_code == 200 and config.get_json()["min_version"]["android"] == "1.10.0"


def test_426_is_in_russian_by_default(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "MIN_CLIENT_VERSIONS", {"android": "2.0.0", "ios": "1.0.0", "web": "1.0.0"})
    body = client.get(f"{V1}/districts", headers={"X-Client-Platform": "android", "X-Client-Version": "1.0"}).get_json()
    assert "обнов" in body["detail"]


# --- devices ---------------------------------------------------------------------------------------

def test_a_device_is_registered_once_per_subscription_and_moves_to_whoever_registered_it_last(
        app, client, make_volunteer, make_inspector):
    owner, other = make_volunteer(), make_inspector()
    subscription = Browser(GOOGLE_ENDPOINT).subscription
    first = register(client, owner, push=subscription)
    assert first.status_code == 201
    device = first.get_json()
    assert device["platform"] == "web" and set(device) == {"id", "platform", "created_at"}
    assert register(client, owner, push=subscription).get_json()["id"] == device["id"]
    moved = register(client, other, push=subscription)
    assert moved.status_code == 201 and moved.get_json()["id"] == device["id"]
    with app.app_context():
        assert db.session.scalars(select(Device.user_id)).all() == [int(other.id)]
    # It is the other account's device now: the first one is told it does not exist.
    assert client.delete(f"{V1}/devices/{device['id']}", headers=owner.headers).status_code == 404
    assert client.delete(f"{V1}/devices/{device['id']}", headers=other.headers).status_code == 204
    assert client.delete(f"{V1}/devices/{device['id']}", headers=other.headers).status_code == 404
    assert client.delete(f"{V1}/devices/99999999999999999999", headers=other.headers).status_code == 404


def test_a_native_device_registers_its_fcm_token(client, volunteer):
    response = register(client, volunteer, platform="android", push={"token": "fcm-token-" + "x" * 140})
    assert response.status_code == 201 and response.get_json()["platform"] == "android"


@pytest.mark.parametrize("platform, push, field", [
    ("web", {"endpoint": "https://evil.example.com/push", "keys": Browser(GOOGLE_ENDPOINT).subscription["keys"]},
     "push.endpoint"),
    ("web", {"endpoint": "http://fcm.googleapis.com/fcm/send/x", "keys": Browser(GOOGLE_ENDPOINT).subscription["keys"]},
     "push.endpoint"),
    ("web", {"endpoint": GOOGLE_ENDPOINT, "keys": {"p256dh": "AAAA", "auth": b64url(os.urandom(16))}},
     "push.keys.p256dh"),
    ("web", {"endpoint": GOOGLE_ENDPOINT}, "push.keys"),
    ("web", {"token": "abc"}, "push.endpoint"),
    ("android", {"endpoint": GOOGLE_ENDPOINT}, "push.token"),
    ("windows", {"token": "abc"}, "platform"),
])
def test_a_bad_registration_is_422_and_registers_nothing(app, client, volunteer, platform, push, field):
    response = register(client, volunteer, platform=platform, push=push)
    assert response.status_code == 422, response.get_json()
    assert field in response.get_json()["errors"]
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Device)) == 0


# --- alerts by push --------------------------------------------------------------------------------

def test_a_flagged_inspection_reaches_the_inspectors_browser_encrypted_and_signed(app, client, push_service,
                                                                                   run_jobs):
    service, base = push_service
    browser = Browser(f"{base}/push/subscription-1")
    with app.app_context():
        inspector = make_user("inspector", language="kk")
        volunteer = make_user("volunteer")
        site_id = make_site()
    from volunteer_api.auth.services import login
    from volunteer_api.people.models import User

    with app.app_context():
        user = db.session.get(User, inspector)
        tokens = login(login=user.email, password="correct horse battery", address="127.0.0.1", user_agent="t")[1]
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert client.post(f"{V1}/devices", headers=headers,
                       json={"platform": "web", "push": browser.subscription}).status_code == 201
    with app.app_context():
        inspection_id = flag_inspection(volunteer_id=volunteer, site_id=site_id)
    run_jobs(lambda: service.received, timeout=15)
    (path, request_headers, body), = service.received
    assert path == "/push/subscription-1"
    assert request_headers["content-encoding"] == "aes128gcm" and int(request_headers["ttl"]) > 0
    vapid_key = client.get(f"{V1}/client-config").get_json()["web_push_public_key"]
    assert request_headers["authorization"].startswith("vapid t=") and f"k={vapid_key}" in request_headers["authorization"]
    payload = browser.decrypt(body)
    assert payload["kind"] == "inspection_flagged" and payload["subject_id"] == str(inspection_id)
    assert payload["title"].startswith("Белгіленген тексеру") and "«Школа №5» нысанын" in payload["body"]
    assert payload["url"] == "/console/"
    with app.app_context():
        wait_for(lambda: _statuses() == [("web_push", "sent")], timeout=10)


def test_a_subscription_the_push_service_calls_gone_is_removed_and_not_retried(app, push_service, run_jobs):
    service, base = push_service
    service.status = 410
    with app.app_context():
        inspector = make_user("inspector")
        db.session.add(Device(user_id=inspector, platform="web", push=Browser(f"{base}/push/old").subscription,
                              push_key="k" * 64))
        db.session.commit()
        flag_inspection(volunteer_id=make_user("volunteer"), site_id=make_site())
    run_jobs(lambda: service.received, timeout=15)
    with app.app_context():
        wait_for(lambda: _statuses() == [("web_push", "dead")], timeout=10)
        assert db.session.scalar(select(func.count()).select_from(Device)) == 0
        delivery = db.session.scalars(select(AlertDelivery)).one()
        assert delivery.device_id is None and delivery.last_error.startswith("gone")
    assert len(service.received) == 1


def test_a_push_service_error_leaves_the_delivery_to_be_retried(app, push_service, run_jobs):
    service, base = push_service
    service.status = 503
    with app.app_context():
        inspector = make_user("inspector")
        db.session.add(Device(user_id=inspector, platform="web", push=Browser(f"{base}/push/busy").subscription,
                              push_key="b" * 64))
        db.session.commit()
        flag_inspection(volunteer_id=make_user("volunteer"), site_id=make_site())
    run_jobs(lambda: service.received, timeout=15)

    def failed_once():
        delivery = db.session.scalars(select(AlertDelivery)).first()
        db.session.rollback()
        return delivery if delivery is not None and delivery.attempts >= 1 else None

    with app.app_context():
        delivery = wait_for(failed_once, timeout=10)
        assert delivery.status == "pending" and "503" in delivery.last_error
        assert db.session.scalar(select(func.count()).select_from(Device)) == 1


def test_native_devices_get_no_push_unless_fcm_is_configured(app, make_app, tmp_path):
    from volunteer_api.devices.services import push_targets

    with app.app_context():
        volunteer = make_user("volunteer")
        db.session.add(Device(user_id=volunteer, platform="android", push={"token": "t"}, push_key="a" * 64))
        db.session.commit()
        assert push_targets([volunteer]) == []
    credentials = tmp_path / "service-account.json"
    credentials.write_text("{}")
    configured = make_app({"FCM_CREDENTIALS_FILE": str(credentials)})
    with configured.app_context():
        device_id = db.session.scalars(select(Device.id)).one()
        assert push_targets([volunteer]) == [(volunteer, device_id, "fcm")]


def test_the_fcm_message_carries_the_alert_as_a_notification_and_string_data():
    from volunteer_api.devices.push import fcm_message

    message = fcm_message(token="device-token", payload={"title": "Тексеру", "body": "Мәтін", "url": "/app/",
                                                         "alert_id": "42", "kind": "inspection_returned",
                                                         "count": 3, "missing": None})
    assert message.token == "device-token"
    assert (message.notification.title, message.notification.body) == ("Тексеру", "Мәтін")
    assert message.data == {"title": "Тексеру", "body": "Мәтін", "url": "/app/", "alert_id": "42",
                            "kind": "inspection_returned", "count": "3"}
    assert message.android.priority == "high" and message.apns.headers["apns-priority"] == "10"


def _statuses():
    rows = db.session.execute(select(AlertDelivery.channel, AlertDelivery.status).order_by(AlertDelivery.id)).all()
    db.session.rollback()
    return [tuple(row) for row in rows]
