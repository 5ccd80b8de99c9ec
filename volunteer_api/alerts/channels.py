"""The outside channels an alert also goes to: e-mail (SMTP_URL) and a signed webhook (ALERT_WEBHOOK_URL).

Each function either hands the message over or raises; the delivery job retries it with backoff.
"""
import hashlib
import hmac
import json
import smtplib
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import parse_qs, unquote, urlsplit

import requests

SMTP_TIMEOUT_SECONDS = 10
WEBHOOK_TIMEOUT_SECONDS = (3, 5)  # connect, read


def send_email(*, smtp_url: str, sender: str, to: str, subject: str, body: str, message_id: str,
               attachments: tuple[tuple[str, str, bytes], ...] = ()) -> None:
    """Send one plain-text e-mail through the server in smtp_url (smtp://, smtps://; ?starttls=true),
    with (filename, media type, bytes) attachments."""
    url = urlsplit(smtp_url)
    secure = url.scheme == "smtps"
    port = url.port or (465 if secure else 25)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message["Date"] = formatdate(usegmt=True)
    # The same alert always has the same Message-ID, so a resend after a crash is recognisably one mail.
    message["Message-ID"] = message_id
    message.set_content(body)
    for filename, media_type, content in attachments:
        maintype, subtype = media_type.split("/", 1)
        message.add_attachment(content, maintype=maintype, subtype=subtype, filename=filename)
    client_class = smtplib.SMTP_SSL if secure else smtplib.SMTP
    with client_class(url.hostname or "localhost", port, timeout=SMTP_TIMEOUT_SECONDS) as client:
        if not secure and parse_qs(url.query).get("starttls", ["false"])[0].lower() in ("1", "true", "yes"):
            client.starttls()
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(message)


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over "<timestamp>.<body>", hex; the receiver recomputes it and compares in constant time."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def post_webhook(*, url: str, secret: str, payload: dict, timestamp: int, delivery_id: str) -> None:
    """POST the payload as JSON with X-VM-Timestamp and X-VM-Signature; any non-2xx answer raises."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    stamp = str(timestamp)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-VM-Timestamp": stamp,
        "X-VM-Signature": signature(secret, stamp, body),
        # Stable across retries: the receiver drops a delivery it has already seen.
        "X-VM-Delivery": delivery_id,
        "User-Agent": "volunteer-monitor-alerts/1",
    }
    response = requests.post(url, data=body, headers=headers, timeout=WEBHOOK_TIMEOUT_SECONDS, allow_redirects=False)
    if not 200 <= response.status_code < 300:
        raise requests.HTTPError(f"webhook answered {response.status_code}", response=response)
