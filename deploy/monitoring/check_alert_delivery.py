#!/usr/bin/env python3
"""Alert delivery, end to end: a real Alertmanager with GAD's rendered configuration sends to a
local stand-in for Telegram's Bot API and a local SMTP sink (aiosmtpd), never the internet.

  check_alert_delivery.py WORKDIR

Starts both sinks, renders the configuration (render.sh) for them, starts Alertmanager
(Debian's prometheus-alertmanager, or $ALERTMANAGER_BIN), posts four alerts and checks:
- the critical one reaches the Telegram group (chat id, HTML-escaped text, the bot's token in
  the path) and the e-mail address;
- the warning reaches e-mail only;
- the low-disk warning is inhibited by the critical full-disk alert of the same filesystem.
Exit status 1 naming what did not happen.
"""
import email
import email.policy
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

HERE = os.path.dirname(os.path.abspath(__file__))
TOKEN = "123456:alert-check-token"
CHAT = "-1001234567890"
TO = "supervisores@gad.example.org"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Telegram(BaseHTTPRequestHandler):
    """Records sendMessage calls; answers as the Bot API does."""

    calls = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            params = json.loads(body)
        except ValueError:
            params = dict(urllib.parse.parse_qsl(body.decode()))
        Telegram.calls.append((self.path, params))
        chat = {"id": int(params.get("chat_id", 0) or 0), "type": "supergroup", "title": "Supervisores"}
        result = {"message_id": len(Telegram.calls), "date": int(time.time()), "chat": chat,
                  "text": params.get("text", "")}
        data = json.dumps({"ok": True, "result": result}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class Mailbox:
    """aiosmtpd handler keeping every message."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        body = "\n".join(part.get_content() for part in message.walk() if part.get_content_type() == "text/plain")
        self.messages.append((envelope.rcpt_tos, f"Subject: {message['Subject']}\n{body}"))
        return "250 OK"


def alert(name, severity, summary, **labels):
    return {
        "labels": {"alertname": name, "severity": severity, "instance": "api-1", **labels},
        "annotations": {"summary": summary, "description": f"Descripción de {name}."},
    }


def main(work):
    telegram = ThreadingHTTPServer(("127.0.0.1", free_port()), Telegram)
    threading.Thread(target=telegram.serve_forever, daemon=True).start()
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()

    config = os.path.join(work, "alertmanager-delivery.yml")
    token_file = os.path.join(work, "alert-bot-token")
    with open(token_file, "w") as f:
        f.write(TOKEN + "\n")
    env = dict(
        os.environ,
        ALERTMANAGER_CONFIG=config,
        GAD_ALERT_TELEGRAM_CHAT_ID=CHAT,
        TELEGRAM_API_URL=f"http://127.0.0.1:{telegram.server_port}",
        GAD_ALERT_TELEGRAM_BOT_TOKEN_FILE=token_file,
        GAD_ALERT_EMAIL_TO=TO,
        GAD_ALERT_EMAIL_FROM="alertas@gad.example.org",
        GAD_ALERT_SMTP_SMARTHOST=f"127.0.0.1:{smtp.port}",
        GAD_ALERT_SMTP_REQUIRE_TLS="false",
    )
    subprocess.run(["sh", os.path.join(HERE, "alertmanager", "render.sh"), "--render-only"], env=env, check=True)
    binary = os.environ.get("ALERTMANAGER_BIN") or shutil.which("prometheus-alertmanager") or "alertmanager"
    port = free_port()
    am = subprocess.Popen(
        [binary, f"--config.file={config}", f"--storage.path={work}/am-data",
         f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(work, "alertmanager.log"), "w"))
    problems = []
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/-/ready", timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        alerts = [
            alert("GadApiDown", "critical", "Ninguna réplica <responde>"),
            alert("GadBackupTooOld", "warning", "Copia de seguridad vieja"),
            alert("GadDiskSpaceCritical", "critical", "Disco casi lleno", mountpoint="/"),
            alert("GadDiskSpaceLow", "warning", "Poco espacio en disco", mountpoint="/"),
        ]
        req = urllib.request.Request(base + "/api/v2/alerts", data=json.dumps(alerts).encode(),
                                     headers={"Content-Type": "application/json"}, method="POST")
        urllib.request.urlopen(req, timeout=5)

        def delivered():
            texts = [p.get("text", "") for _, p in Telegram.calls]
            mails = "\n".join(m for _, m in mailbox.messages)
            return (any("Ninguna réplica" in t for t in texts) and any("Disco casi lleno" in t for t in texts)
                    and "Ninguna r" in mails and "Copia de seguridad vieja" in mails)

        deadline = time.time() + 75
        while time.time() < deadline and not delivered():
            time.sleep(0.5)
        time.sleep(1)  # anything that would come in the same flush

        texts = [p.get("text", "") for _, p in Telegram.calls]
        mails = [m for _, m in mailbox.messages]
        if not any("Ninguna réplica &lt;responde&gt;" in t for t in texts):
            problems.append(f"the critical alert did not reach Telegram, escaped: {texts!r}")
        if any(path != f"/bot{TOKEN}/sendMessage" for path, _ in Telegram.calls):
            problems.append(f"unexpected Bot API calls: {[p for p, _ in Telegram.calls]!r}")
        if any(str(p.get("chat_id")) != CHAT for _, p in Telegram.calls):
            problems.append("a Telegram message went to another chat")
        if any(p.get("parse_mode") != "HTML" for _, p in Telegram.calls):
            problems.append("a Telegram message is not sent as HTML")
        if any("Copia de seguridad vieja" in t for t in texts):
            problems.append("a warning reached Telegram (warnings go by e-mail only)")
        if not any("Ninguna réplica" in m for m in mails):
            problems.append("the critical alert did not arrive by e-mail")
        if not any("Copia de seguridad vieja" in m for m in mails):
            problems.append("the warning did not arrive by e-mail")
        if any(rcpts != [TO] for rcpts, _ in mailbox.messages):
            problems.append(f"e-mail to other recipients: {[r for r, _ in mailbox.messages]!r}")
        if any("Poco espacio en disco" in x for x in texts + mails):
            problems.append("the low-disk warning was not inhibited by the full-disk alert")
        if any(TOKEN in m for m in mails):
            problems.append("the bot token appears in an e-mail")
        print(f"telegram: {len(texts)} message(s), e-mail: {len(mails)} message(s)")
        if os.environ.get("ALERT_CHECK_SHOW"):
            print("\n---\n".join(texts + mails))
    finally:
        am.terminate()
        am.wait(timeout=10)
        smtp.stop()
        telegram.shutdown()
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
