"""E-mail and webhook: each alert reaches a local SMTP server and a local HTTP server, signed, on its own."""
import hmac
import json
import threading
from email import message_from_bytes
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from tests.alert_helpers import IsolatedStack, alert_counts, flag_inspection, free_port, make_site, make_user
from tests.conftest import BACKEND, PG_ADMIN_URL, start_worker_process, stop_worker_process
from tests.support import wait_for
from volunteer_api.alerts.channels import signature
from volunteer_api.alerts.models import AlertDelivery
from volunteer_api.extensions import db

SECRET = "test-webhook-secret-0123456789"


class Mailbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content, policy=default_policy)))
        return "250 OK"


class Hook(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Hook.received.append((dict(self.headers), body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def smtp():
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield mailbox, controller.port
    controller.stop()


@pytest.fixture
def webhook():
    Hook.received = []
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield Hook.received, server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def alert_app(make_app, service_env):
    """An app (and, on PostgreSQL, a real worker of its own) built with the given channel settings."""
    stacks = []

    def build(env):
        if BACKEND == "sqlite":
            return make_app(env)
        stack = IsolatedStack(pg_admin_url=PG_ADMIN_URL, base_env=service_env, extra_env=env)
        stacks.append(stack)
        application = stack.build_app(make_app)
        stack.start_worker(start_worker_process, beat=True, name="channels")
        return application

    yield build
    for stack in stacks:
        stack.close(stop_worker_process)


def test_an_alert_is_emailed_in_the_recipients_language_and_posted_to_a_signed_webhook(alert_app, smtp, webhook):
    mailbox, smtp_port = smtp
    received, hook_port = webhook
    application = alert_app({"SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
                             "ALERT_WEBHOOK_URL": f"http://127.0.0.1:{hook_port}/alerts",
                             "ALERT_WEBHOOK_SECRET": SECRET, "PUBLIC_BASE_URL": "https://monitor.example.kz"})
    with application.app_context():
        inspector = make_user("inspector", language="kk", email="aigerim@example.kz")
        volunteer = make_user("volunteer")
        inspection_id = flag_inspection(volunteer_id=volunteer, site_id=make_site())

        wait_for(lambda: mailbox.messages and received, timeout=10)
        (rcpt, mail), = mailbox.messages
        assert rcpt == ["aigerim@example.kz"]
        assert mail["Subject"] == "Белгіленген тексеру — Еріктілер мониторингі"
        text = mail.get_content()
        assert "«Школа №5» нысанын" in text and f"https://monitor.example.kz/inspections/{inspection_id}" in text

        (headers, body), = received
        timestamp = headers["X-VM-Timestamp"]
        expected = "sha256=" + hmac.new(SECRET.encode(), f"{timestamp}.".encode() + body, "sha256").hexdigest()
        assert hmac.compare_digest(headers["X-VM-Signature"], expected)
        assert headers["X-VM-Signature"] == signature(SECRET, timestamp, body)
        payload = json.loads(body)
        assert payload["kind"] == "inspection_flagged" and payload["recipient"]["id"] == str(inspector)
        assert payload["subject"] == {"type": "inspection", "id": str(inspection_id)}
        wait_for(lambda: _delivery_statuses() == ["sent", "sent"], timeout=10)
        assert alert_counts() == {inspector: 1}


def test_a_dead_smtp_server_delays_the_email_but_not_the_inbox_or_the_webhook(alert_app, webhook):
    received, hook_port = webhook
    application = alert_app({"SMTP_URL": f"smtp://127.0.0.1:{free_port()}",  # nobody listens
                             "ALERT_WEBHOOK_URL": f"http://127.0.0.1:{hook_port}/alerts",
                             "ALERT_WEBHOOK_SECRET": SECRET})
    with application.app_context():
        inspector = make_user("inspector")
        flag_inspection(volunteer_id=make_user("volunteer"), site_id=make_site())
        wait_for(lambda: alert_counts() == {inspector: 1} and received, timeout=10)
        email = wait_for(lambda: _delivery("email", lambda d: d.attempts >= 1), timeout=10)
        assert email.status == "pending" and "ConnectionRefusedError" in email.last_error
        wait_for(lambda: _delivery("webhook", lambda d: d.status == "sent"), timeout=10)


def _delivery_statuses():
    statuses = sorted(db.session.scalars(select(AlertDelivery.status)))
    db.session.rollback()
    return statuses


def _delivery(channel, condition):
    delivery = db.session.scalars(select(AlertDelivery).where(AlertDelivery.channel == channel)).first()
    db.session.rollback()
    return delivery if delivery is not None and condition(delivery) else None
