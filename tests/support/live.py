"""A live threaded server on a free loopback port, and plain HTTP calls to it from many threads."""

from __future__ import annotations

import http.client
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

from werkzeug.serving import make_server

__all__ = ["Answer", "serve", "call", "simultaneously"]


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


@contextmanager
def serve(app) -> Iterator[tuple[str, int]]:
    """Serve ``app`` with Werkzeug's threaded server (a thread per request, as ``flask run``
    does) on 127.0.0.1 and a free port; yields ``(host, port)``."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield "127.0.0.1", server.server_port
    finally:
        server.shutdown()
        thread.join(5)


def call(address: tuple[str, int], method: str, path: str, body: Any = None,
         headers: dict[str, str] | None = None, timeout: float = 60) -> Answer:
    """One request on a connection of its own; a JSON body is sent as JSON, a JSON answer decoded."""
    connection = http.client.HTTPConnection(*address, timeout=timeout)
    try:
        sent = dict(headers or {})
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        connection.request(method, path, body=payload, headers=sent)
        response = connection.getresponse()
        raw = response.read()
        answer_headers = {k.lower(): v for k, v in response.getheaders()}
        if answer_headers.get("content-type", "").startswith("application/json"):
            return Answer(response.status, json.loads(raw), answer_headers)
        return Answer(response.status, raw.decode("utf-8", "replace"), answer_headers)
    finally:
        connection.close()


def simultaneously(address: tuple[str, int], requests: list[tuple]) -> list[Answer]:
    """Send every ``(method, path, body, headers)`` at the same moment (threads released by one
    barrier); answers come in the order of ``requests``."""
    barrier = threading.Barrier(len(requests))

    def send(request: tuple) -> Answer:
        method, path, body, headers = request
        barrier.wait()
        return call(address, method, path, body, headers)

    with ThreadPoolExecutor(max_workers=len(requests)) as pool:
        return list(pool.map(send, requests))
