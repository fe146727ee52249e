"""The platform's audit key: loading it from a PKCS#12 file or a PKCS#11 token, signing and
checking checkpoint messages.

Ed25519, RSA (PKCS#1 v1.5, SHA-256) and ECDSA (SHA-256) keys are accepted from either source; a
checkpoint signed on a token verifies like one signed from a file with the same key.

On a PKCS#11 token the private key never leaves it: :meth:`AuditKey.sign` logs in with the PIN
and has the token sign. Verification needs no PIN: the public key is read in a public session
from the token's public key object with the key's label (or, when the token holds none, from the
certificate with that label), so a host given no PIN can verify checkpoints but not make them."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.serialization import pkcs12

__all__ = ["AuditKey", "TokenKey", "load_audit_key", "load_token_audit_key", "AuditKeyError"]

_ED25519_PARAMS = (bytes.fromhex("06032b6570"), b"\x13\x0cedwards25519", b"\x13\x07Ed25519")


class AuditKeyError(Exception):
    """The key file or token is missing, unreadable, locked with another password or PIN, or
    holds no usable key."""


@dataclass(frozen=True)
class TokenKey:
    """Where a key lives on a PKCS#11 token: the module, the token's label, the PIN (None on a
    host that only verifies) and the key's label."""

    module: str
    token_label: str
    pin: str | None = field(repr=False)
    key_label: str

    def describe(self) -> str:
        return f"key {self.key_label!r} on token {self.token_label!r}"


@dataclass(frozen=True)
class AuditKey:
    """An audit key: its public half, and either the private key itself (PKCS#12) or where it
    lives on a token (PKCS#11)."""

    private: Any
    public: Any
    token: TokenKey | None = None

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
        """The base64 signature of ``message``. Raises :class:`AuditKeyError` when the token
        cannot sign (no PIN configured, wrong PIN, token or key gone)."""
        if self.token is not None:
            raw = _sign_on_token(self.token, self.algorithm, message)
        elif self.algorithm == "ed25519":
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


def load_token_audit_key(token: TokenKey) -> AuditKey:
    """The key ``token.key_label`` on a PKCS#11 token, its public half read without logging in.
    Raises :class:`AuditKeyError` (module not loadable, token absent, no such key, unsupported type)."""
    from pkcs11 import ObjectClass
    from pkcs11.exceptions import NoSuchKey, PKCS11Error

    try:
        with _open(token, login=False) as session:
            try:
                public = _public_key(session.get_key(object_class=ObjectClass.PUBLIC_KEY, label=token.key_label))
            except NoSuchKey:
                public = _certificate_key(session, token)
    except PKCS11Error as exc:
        missing = "no public key or certificate with this label readable without the PIN"
        raise AuditKeyError(f"{token.describe()}: {_reason(exc, missing)}") from None
    except ValueError as exc:
        raise AuditKeyError(f"{token.describe()}: the token's public key cannot be read ({exc})") from None
    if not isinstance(public, (ed25519.Ed25519PublicKey, rsa.RSAPublicKey, ec.EllipticCurvePublicKey)):
        raise AuditKeyError(f"{token.describe()} is not an Ed25519, RSA or EC key")
    return AuditKey(None, public, token)


def _open(token: TokenKey, *, login: bool):
    import pkcs11
    from pkcs11.exceptions import PKCS11Error

    try:
        lib = pkcs11.lib(token.module)
    except (PKCS11Error, OSError) as exc:
        raise AuditKeyError(f"cannot load the PKCS#11 module {token.module}: {exc}") from None
    found = lib.get_token(token_label=token.token_label)
    return found.open(user_pin=token.pin) if login else found.open()


def _reason(exc: Exception, no_such_key: str) -> str:
    names = {"NoSuchToken": "no token with this label", "MultipleTokensReturned": "several tokens carry this label",
             "NoSuchKey": no_such_key, "MultipleObjectsReturned": "several keys carry this label",
             "PinIncorrect": "the PIN is wrong", "PinLocked": "the PIN is locked",
             "TokenNotPresent": "the token is not present", "DeviceRemoved": "the token was removed",
             "MechanismInvalid": "the token cannot sign with this key's mechanism"}
    return names.get(type(exc).__name__, f"{type(exc).__name__} {exc}".strip())


def _public_key(key: Any) -> Any:
    from pkcs11 import Attribute, KeyType

    if key.key_type == KeyType.RSA:
        return rsa.RSAPublicNumbers(int.from_bytes(key[Attribute.PUBLIC_EXPONENT], "big"),
                                    int.from_bytes(key[Attribute.MODULUS], "big")).public_key()
    if key.key_type == KeyType.EC:
        from pkcs11.util.ec import encode_ec_public_key

        return serialization.load_der_public_key(encode_ec_public_key(key))
    if key.key_type == KeyType.EC_EDWARDS:
        if key[Attribute.EC_PARAMS] not in _ED25519_PARAMS:
            return None
        point = key[Attribute.EC_POINT]
        if len(point) == 34 and point[:2] == b"\x04\x20":
            point = point[2:]
        return ed25519.Ed25519PublicKey.from_public_bytes(point)
    return None


def _certificate_key(session: Any, token: TokenKey) -> Any:
    from pkcs11 import Attribute, ObjectClass
    from pkcs11.exceptions import NoSuchKey

    for cert in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.LABEL: token.key_label}):
        return x509.load_der_x509_certificate(cert[Attribute.VALUE]).public_key()
    raise NoSuchKey()


def _sign_on_token(token: TokenKey, algorithm: str, message: bytes) -> bytes:
    from pkcs11 import Mechanism, ObjectClass
    from pkcs11.exceptions import PKCS11Error

    if not token.pin:
        raise AuditKeyError(f"{token.describe()}: no PIN is configured (IA_AUDIT_PKCS11_PIN); this host only verifies")
    try:
        with _open(token, login=True) as session:
            private = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=token.key_label)
            if algorithm == "ed25519":
                return private.sign(message, mechanism=Mechanism.EDDSA)
            if algorithm == "rsa-sha256":
                return private.sign(message, mechanism=Mechanism.SHA256_RSA_PKCS)
            from pkcs11.util.ec import encode_ecdsa_signature

            # Many tokens (SoftHSM2 2.6 among them) lack ECDSA_SHA256: hash here, sign the digest.
            return encode_ecdsa_signature(private.sign(hashlib.sha256(message).digest(), mechanism=Mechanism.ECDSA))
    except PKCS11Error as exc:
        raise AuditKeyError(f"{token.describe()}: {_reason(exc, 'no private key with this label')}") from None
