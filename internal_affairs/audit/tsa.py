"""RFC 3161 timestamps of audit checkpoints: one request to ``IA_TSA_URL`` (HTTP POST of a
``TimeStampReq``), the token kept as base64 DER. The token's message imprint is checked against
the checkpoint at request time and at verification; whether the TSA itself is trusted is for the
seals' verification (``signing/``) to judge."""

from __future__ import annotations

import base64
import hashlib
import secrets
import urllib.error
import urllib.request

from asn1crypto import cms, tsp

__all__ = ["TimestampError", "request_timestamp", "token_imprint"]

TIMEOUT = 10


class TimestampError(Exception):
    """The TSA could not be reached, refused, or answered something else than asked."""


def request_timestamp(url: str, message: bytes, *, timeout: float = TIMEOUT) -> str:
    """A timestamp token over SHA-256 of ``message`` from the TSA at ``url``, base64 DER.
    Raises :class:`TimestampError`."""
    digest = hashlib.sha256(message).digest()
    nonce = secrets.randbits(63)
    req = tsp.TimeStampReq({
        "version": 1,
        "message_imprint": {"hash_algorithm": {"algorithm": "sha256"}, "hashed_message": digest},
        "nonce": nonce, "cert_req": True})
    request = urllib.request.Request(url, data=req.dump(), method="POST",
                                     headers={"Content-Type": "application/timestamp-query"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (the configured TSA)
            body = answer.read(1 << 20)
    except (urllib.error.URLError, OSError) as exc:
        raise TimestampError(f"TSA unreachable: {exc}") from None
    try:
        resp = tsp.TimeStampResp.load(body)
        status = resp["status"]["status"].native
        if status not in ("granted", "granted_with_mods"):
            raise TimestampError(f"TSA refused: {status}")
        token = resp["time_stamp_token"]
        imprint, got_nonce = _imprint_and_nonce(token)
    except TimestampError:
        raise
    except Exception as exc:  # a malformed answer, whatever asn1crypto raises for it
        raise TimestampError(f"TSA answer malformed: {exc}") from None
    if imprint != digest or got_nonce != nonce:
        raise TimestampError("TSA answer is for another request")
    return base64.b64encode(token.dump()).decode()


def _imprint_and_nonce(token: cms.ContentInfo) -> tuple[bytes, int | None]:
    info = token["content"]["encap_content_info"]["content"].parsed
    return info["message_imprint"]["hashed_message"].native, info["nonce"].native


def token_imprint(token_b64: str) -> bytes | None:
    """The SHA-256 the stored token covers; None when it cannot be read."""
    try:
        return _imprint_and_nonce(cms.ContentInfo.load(base64.b64decode(token_b64)))[0]
    except Exception:  # noqa: BLE001 (any damage means: not a usable token)
        return None
