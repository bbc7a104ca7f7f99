"""Smoke check for support/mail.mjs: sends a quoted-printable message with a
long URL over SMTP, then reads it back from the HTTP API and checks that the
URL survived whole. Exits non-zero on failure.

    python3 support/check-mail.py

Env: BANDPOOL_TEST_SMTP_PORT (default 2525),
BANDPOOL_TEST_MAIL_API_PORT (default 2580).
"""

import json
import os
import smtplib
import urllib.request
from email.message import EmailMessage

smtp_port = int(os.environ.get("BANDPOOL_TEST_SMTP_PORT", "2525"))
api = f"http://127.0.0.1:{os.environ.get('BANDPOOL_TEST_MAIL_API_PORT', '2580')}"

url = ("http://127.0.0.1:3100/auth/verify?token=" + "A1b2C3d4E5f6" * 20
       + "&next=%2Fdashboard%3Fx%3D1")
to = "Check.Mail@Example.test"

msg = EmailMessage()
msg["From"] = "Bandpool <noreply@bandpool.test>"
msg["To"] = to
msg["Subject"] = "Confirm your email — Bandpool"
msg.set_content(f"Hello,\n\nOpen this link:\n{url}\n\nThanks\n", cte="quoted-printable")
msg.add_alternative(f'<p>Open <a href="{url}">{url}</a></p>', subtype="html",
                    cte="quoted-printable")
raw = msg.as_bytes()
assert b"=\n" in raw or b"=\r\n" in raw, "expected the raw message to carry QP soft breaks"

with smtplib.SMTP("127.0.0.1", smtp_port) as s:
    s.ehlo()
    assert not s.has_extn("starttls"), "STARTTLS should not be offered"
    s.send_message(msg)

req = urllib.request.Request(f"{api}/messages?to={to.lower()}")
with urllib.request.urlopen(req) as res:
    messages = json.load(res)
assert messages, "no message for the recipient"
m = messages[-1]
assert m["subject"] == "Confirm your email — Bandpool", m["subject"]
assert m["from"] == "noreply@bandpool.test", m["from"]
assert url in m["text"], m["text"]
assert url in (m["html"] or ""), m["html"]
assert "=\n" not in m["text"]
print(f"mail ok: {len(messages)} message(s) for {to}; long URL intact in text and html")
