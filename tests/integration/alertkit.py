"""Real local alert receivers on 127.0.0.1: a JSON webhook and an SMTP server.

Both run in a thread and record what they receive, so a test (or the e2e
fixture) can point the ``alerts:`` config at them and assert on each
message. The SMTP server speaks just enough of RFC 5321 for smtplib /
Airflow's SmtpHook with ``disable_ssl`` and ``disable_tls`` set (no aiosmtpd
dependency).
"""

from __future__ import annotations

import email
import email.policy
import json
import socketserver
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _Receiver:
    """A server in a daemon thread that records what it receives in ``self.received``."""

    def __enter__(self):
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int = 1, timeout_s: float = 10.0) -> list:
        """The first ``count`` messages, waiting for them to arrive."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.received) >= count:
                    return list(self.received)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} message(s) within {timeout_s} s, got {len(self.received)}")


class LocalWebhook(_Receiver):
    """Records every POSTed JSON body; answers ``status`` (200 unless a test wants a failure)."""

    def __init__(self, status: int = 200) -> None:
        self.received: list[dict] = []
        self.paths: list[str] = []
        self.status = status
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver._lock:
                    receiver.received.append(json.loads(body))
                    receiver.paths.append(self.path)
                self.send_response(receiver.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@dataclass
class Mail:
    mail_from: str
    recipients: list[str]
    message: EmailMessage = field(repr=False)

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html", "plain"))
        return part.get_content() if part is not None else ""


class LocalSmtp(_Receiver):
    """A minimal SMTP server: HELO/EHLO, MAIL, RCPT, DATA, RSET, NOOP, QUIT."""

    def __init__(self) -> None:
        self.received: list[Mail] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line: str) -> None:
                self.wfile.write(line.encode("ascii") + b"\r\n")

            def handle(self) -> None:
                self.reply("220 127.0.0.1 alertkit SMTP")
                mail_from, rcpts = "", []
                while line := self.rfile.readline():
                    verb = line[:4].decode("ascii", "replace").upper()
                    arg = line[5:].decode("utf-8", "replace").strip()
                    if verb == "EHLO":
                        self.wfile.write(b"250-127.0.0.1\r\n250 8BITMIME\r\n")
                    elif verb == "HELO":
                        self.reply("250 127.0.0.1")
                    elif verb == "MAIL":
                        mail_from, rcpts = arg.split(":", 1)[1].strip().strip("<>"), []
                        self.reply("250 OK")
                    elif verb == "RCPT":
                        rcpts.append(arg.split(":", 1)[1].strip().strip("<>"))
                        self.reply("250 OK")
                    elif verb == "DATA":
                        self.reply("354 end with <CRLF>.<CRLF>")
                        lines = []
                        while (data := self.rfile.readline()) not in (b".\r\n", b".\n", b""):
                            lines.append(data[1:] if data.startswith(b"..") else data)
                        message = email.message_from_bytes(b"".join(lines), policy=email.policy.default)
                        with receiver._lock:
                            receiver.received.append(Mail(mail_from, rcpts, message))
                        self.reply("250 OK queued")
                    elif verb in ("RSET", "NOOP"):
                        self.reply("250 OK")
                    elif verb == "QUIT":
                        self.reply("221 bye")
                        return
                    else:
                        self.reply("502 not implemented")

        class Server(socketserver.ThreadingTCPServer):
            daemon_threads = True
            allow_reuse_address = True

        self._server = Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]

    def connection_uri_env(self) -> str:
        """``AIRFLOW_CONN_<ID>`` value for an Airflow SMTP connection to this server (plain, no TLS)."""
        return json.dumps({
            "conn_type": "smtp", "host": "127.0.0.1", "port": self.port,
            "extra": {"disable_ssl": True, "disable_tls": True, "timeout": 5, "retry_limit": 0},
        })
