"""The platform's audit key: loading it from PKCS#12, signing and checking checkpoint messages.

Ed25519, RSA (PKCS#1 v1.5, SHA-256) and ECDSA (SHA-256) keys are accepted. PKCS#11 is not yet
supported here (the seals library brings it; see the branch report)."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

__all__ = ["AuditKey", "load_audit_key", "AuditKeyError"]


class AuditKeyError(Exception):
    """The key file is missing, unreadable, locked with another password or holds no usable key."""


@dataclass(frozen=True)
class AuditKey:
    private: Any
    public: Any

    @property
    def algorithm(self) -> str:
        if isinstance(self.public, ed25519.Ed25519PublicKey):
            return "ed25519"
        if isinstance(self.public, rsa.RSAPublicKey):
            return "rsa-sha256"
        return "ecdsa-sha256"

    @property
    def key_id(self) -> str:
        """SHA-256 of the public key's SubjectPublicKeyInfo, hex."""
        der = self.public.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
        return hashlib.sha256(der).hexdigest()

    def sign(self, message: bytes) -> str:
        if self.algorithm == "ed25519":
            raw = self.private.sign(message)
        elif self.algorithm == "rsa-sha256":
            raw = self.private.sign(message, padding.PKCS1v15(), hashes.SHA256())
        else:
            raw = self.private.sign(message, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(raw).decode()

    def verify(self, algorithm: str, message: bytes, signature: str) -> bool:
        if algorithm != self.algorithm:
            return False
        try:
            raw = base64.b64decode(signature, validate=True)
            if algorithm == "ed25519":
                self.public.verify(raw, message)
            elif algorithm == "rsa-sha256":
                self.public.verify(raw, message, padding.PKCS1v15(), hashes.SHA256())
            else:
                self.public.verify(raw, message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError):
            return False
        return True


def load_audit_key(path: str | None, password: str | None) -> AuditKey | None:
    """The key in the PKCS#12 file ``path`` (None when no file is configured). Raises :class:`AuditKeyError`."""
    if not path:
        return None
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise AuditKeyError(f"cannot read {path}: {exc.strerror}") from None
    try:
        private, _cert, _extra = pkcs12.load_key_and_certificates(data, password.encode() if password else None)
    except ValueError:
        raise AuditKeyError(f"{path} is not a PKCS#12 file or the password is wrong") from None
    if not isinstance(private, (ed25519.Ed25519PrivateKey, rsa.RSAPrivateKey, ec.EllipticCurvePrivateKey)):
        raise AuditKeyError(f"{path} holds no Ed25519, RSA or EC private key")
    return AuditKey(private, private.public_key())
