"""A local RFC 3161 time-stamping authority and CRL server on 127.0.0.1, for sealing tests.

:class:`PkiServices` runs certomancer's ``TimeStamper`` behind a tiny threaded ``http.server``:
``POST /tsa`` answers a DER ``TimeStampReq`` with a ``TimeStampResp``; ``GET /root.crl`` serves
whatever CRL the test last published with :meth:`PkiServices.publish_crl`. The server starts
first (its URLs go into the certificates), the TSA's key comes with :meth:`PkiServices.set_tsa`.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from asn1crypto import keys, pem, tsp
from asn1crypto import x509 as asn1_x509
from certomancer.services import TimeStamper

__all__ = ["PkiServices"]


def _der(blob: bytes) -> bytes:
    return pem.unarmor(blob)[2] if pem.detect(blob) else blob


class PkiServices:
    """The services, started on a free loopback port; use as a context manager."""

    def __init__(self) -> None:
        self.timestamper: TimeStamper | None = None
        self.crl = b""
        self.requests: list[str] = []
        services = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                services.requests.append(f"POST {self.path}")
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if self.path != "/tsa" or services.timestamper is None:
                    return self._answer(404, b"", "text/plain")
                request = tsp.TimeStampReq.load(body)
                response = services.timestamper.request_tsa_response(request)
                self._answer(200, response.dump(), "application/timestamp-reply")

            def do_GET(self) -> None:
                services.requests.append(f"GET {self.path}")
                if self.path != "/root.crl" or not services.crl:
                    return self._answer(404, b"", "text/plain")
                self._answer(200, services.crl, "application/pkix-crl")

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def tsa_url(self) -> str:
        return f"{self.base_url}/tsa"

    @property
    def crl_url(self) -> str:
        return f"{self.base_url}/root.crl"

    def set_tsa(self, tsa_cert_pem: bytes, tsa_key_pem: bytes, root_cert_pem: bytes) -> None:
        """Answer time-stamp requests with this TSA certificate and key from now on."""
        tsa_cert = asn1_x509.Certificate.load(_der(tsa_cert_pem))
        root = asn1_x509.Certificate.load(_der(root_cert_pem))
        self.timestamper = TimeStamper(tsa_cert=tsa_cert, tsa_key=keys.PrivateKeyInfo.load(_der(tsa_key_pem)),
                                       certs_to_embed=[tsa_cert, root])

    def publish_crl(self, crl_der: bytes) -> None:
        """Serve ``crl_der`` from now on at :attr:`crl_url`."""
        self.crl = crl_der

    def __enter__(self) -> PkiServices:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
