"""Real channels for notification tests: an ``aiosmtpd`` SMTP server and an ``http.server``
webhook receiver, each on a free loopback port, recording what they accepted."""

from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

__all__ = ["free_port", "SmtpServer", "WebhookReceiver"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class SmtpServer:
    """An aiosmtpd server; ``messages`` holds each accepted mail (parsed). ``hold_at`` (1-based)
    makes the server wait before answering that message's DATA until :meth:`release`; a message
    released with ``accept=False`` is refused (451) and not recorded."""

    hold_at: int | None = None
    messages: list = field(default_factory=list)
    refuse: bool = False

    def __post_init__(self) -> None:
        self.port = free_port()
        self.holding = threading.Event()
        self._release = threading.Event()
        self._accept_held = True
        self._seen = 0
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    async def handle_DATA(self, server, session, envelope):
        import asyncio

        if self.refuse:
            return "451 try again later"
        with self._lock:
            self._seen += 1
            seen = self._seen
        if self.hold_at is not None and seen == self.hold_at:
            self.holding.set()
            while not self._release.is_set():
                await asyncio.sleep(0.05)
            if not self._accept_held:
                return "451 refused after hold"
        message = email.message_from_bytes(envelope.original_content or envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
        return "250 OK"

    def release(self, accept: bool = True) -> None:
        self._accept_held = accept
        self._release.set()

    def start(self) -> "SmtpServer":
        from aiosmtpd.controller import Controller

        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def stop(self) -> None:
        self._release.set()
        self.controller.stop()


class WebhookReceiver:
    """A local HTTP server recording every JSON body POSTed to it; ``fail`` answers 500."""

    def __init__(self) -> None:
        self.port = free_port()
        self.bodies: list[dict] = []
        self.fail = False
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                if receiver.fail:
                    self.send_response(500)
                    self.end_headers()
                    return
                receiver.bodies.append(json.loads(raw))
                answer = b'{"errcode":0,"errmsg":"ok"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/robot/send?access_token=test"

    def start(self) -> "WebhookReceiver":
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
