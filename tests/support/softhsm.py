"""A SoftHSM2 token initialised by the tests, with a seal key generated on the token.

``SOFTHSM2_CONF`` must point at the test's configuration before the PKCS#11 module is first
loaded in the process (SoftHSM reads it once), so :func:`init_softhsm` sets it and the suite uses
one token per session.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

__all__ = ["SOFTHSM_MODULE", "SoftHsmToken", "softhsm_available", "init_softhsm", "generate_ec_seal_key",
           "generate_rsa_seal_key", "generate_audit_key", "token_verifies"]

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"


def softhsm_available() -> bool:
    """True when the SoftHSM2 module and ``softhsm2-util`` are installed."""
    return Path(SOFTHSM_MODULE).exists() and shutil.which("softhsm2-util") is not None


@dataclass(frozen=True)
class SoftHsmToken:
    module: str
    label: str
    pin: str
    so_pin: str


_initialised: dict[str, SoftHsmToken] = {}


def init_softhsm(directory: Path, label: str = "ia-seals", pin: str = "1234", so_pin: str = "5678") -> SoftHsmToken:
    """Write a SoftHSM2 configuration under ``directory``, point ``SOFTHSM2_CONF`` at it and
    initialise an empty token ``label``. SoftHSM reads its configuration once per process, so a
    second call in the same process returns the token made first (test modules share it; they
    keep apart by key labels)."""
    if "token" in _initialised:
        return _initialised["token"]
    tokens = directory / "tokens"
    tokens.mkdir(parents=True, exist_ok=True)
    conf = directory / "softhsm2.conf"
    conf.write_text(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
    os.environ["SOFTHSM2_CONF"] = str(conf)
    subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin, "--so-pin", so_pin],
                   check=True, capture_output=True)
    _initialised["token"] = SoftHsmToken(SOFTHSM_MODULE, label, pin, so_pin)
    return _initialised["token"]


def generate_ec_seal_key(token: SoftHsmToken, key_label: str, key_id: bytes, certify) -> bytes:
    """Generate a P-256 key pair on the token (the private key never leaves it), have
    ``certify(public_key_der) -> certificate_der`` issue its certificate and store that on the
    token under the same label and id. Returns the certificate (DER)."""
    import pkcs11
    from asn1crypto import x509 as asn1_x509
    from pkcs11 import Attribute, CertificateType, KeyType, ObjectClass
    from pkcs11.util.ec import encode_ec_public_key, encode_named_curve_parameters

    lib = pkcs11.lib(token.module)
    with lib.get_token(token_label=token.label).open(rw=True, user_pin=token.pin) as session:
        params = session.create_domain_parameters(
            KeyType.EC, {Attribute.EC_PARAMS: encode_named_curve_parameters("secp256r1")}, local=True)
        public, _private = params.generate_keypair(store=True, label=key_label, id=key_id)
        cert_der = certify(encode_ec_public_key(public))
        subject = asn1_x509.Certificate.load(cert_der).subject.dump()
        session.create_object({
            Attribute.SUBJECT: subject,
            Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True, Attribute.LABEL: key_label, Attribute.ID: key_id, Attribute.VALUE: cert_der,
        })
    return cert_der


def generate_rsa_seal_key(token: SoftHsmToken, key_label: str, key_id: bytes, certify) -> bytes:
    """Like :func:`generate_ec_seal_key` with an RSA-2048 key pair (what most UKeys hold)."""
    import pkcs11
    from asn1crypto import keys
    from asn1crypto import x509 as asn1_x509
    from pkcs11 import Attribute, CertificateType, KeyType, ObjectClass
    from pkcs11.util.rsa import encode_rsa_public_key

    lib = pkcs11.lib(token.module)
    with lib.get_token(token_label=token.label).open(rw=True, user_pin=token.pin) as session:
        public, _private = session.generate_keypair(KeyType.RSA, 2048, store=True, label=key_label, id=key_id)
        spki = keys.PublicKeyInfo({"algorithm": {"algorithm": "rsa"},
                                   "public_key": keys.RSAPublicKey.load(encode_rsa_public_key(public))})
        cert_der = certify(spki.dump())
        session.create_object({
            Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True, Attribute.LABEL: key_label, Attribute.ID: key_id, Attribute.VALUE: cert_der,
            Attribute.SUBJECT: asn1_x509.Certificate.load(cert_der).subject.dump(),
        })
    return cert_der


def generate_audit_key(token: SoftHsmToken, kind: str, label: str, *, public_object: bool = True) -> None:
    """Generate an audit key pair ``kind`` (``ed25519``, ``rsa`` or ``ec``) on the token under
    ``label``. Without ``public_object`` the public key object is replaced by a certificate with
    that label (as on UKeys that keep only the certificate); its issuer is a throwaway key."""
    import datetime as dt

    import pkcs11
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID
    from pkcs11 import Attribute, CertificateType, KeyType, Mechanism, ObjectClass
    from pkcs11.util.ec import encode_named_curve_parameters

    lib = pkcs11.lib(token.module)
    with lib.get_token(token_label=token.label).open(rw=True, user_pin=token.pin) as session:
        if kind == "rsa":
            public, _private = session.generate_keypair(KeyType.RSA, 2048, store=True, label=label)
        else:
            key_type, curve, mechanism = ((KeyType.EC_EDWARDS, "1.3.101.112", Mechanism.EC_EDWARDS_KEY_PAIR_GEN)
                                          if kind == "ed25519" else (KeyType.EC, "secp256r1", None))
            params = session.create_domain_parameters(
                key_type, {Attribute.EC_PARAMS: encode_named_curve_parameters(curve)}, local=True)
            public, _private = params.generate_keypair(store=True, label=label, mechanism=mechanism)
        if public_object:
            return
        from cryptography.hazmat.primitives.asymmetric import rsa

        if kind != "rsa":
            raise ValueError("only an RSA audit key is stored with a certificate alone")
        rsa_public = rsa.RSAPublicNumbers(int.from_bytes(public[Attribute.PUBLIC_EXPONENT], "big"),
                                    int.from_bytes(public[Attribute.MODULUS], "big")).public_key()
        issuer = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "审计密钥 " + label)])
        start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
        cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(rsa_public)
                .serial_number(x509.random_serial_number()).not_valid_before(start)
                .not_valid_after(start + dt.timedelta(days=3650)).sign(issuer, hashes.SHA256()))
        from cryptography.hazmat.primitives.serialization import Encoding

        session.create_object({
            Attribute.CLASS: ObjectClass.CERTIFICATE, Attribute.CERTIFICATE_TYPE: CertificateType.X_509,
            Attribute.TOKEN: True, Attribute.LABEL: label, Attribute.VALUE: cert.public_bytes(Encoding.DER),
            Attribute.SUBJECT: name.public_bytes(),
        })
        public.destroy()


def token_verifies(token: SoftHsmToken, kind: str, label: str, message: bytes, signature_b64: str) -> bool:
    """Whether the token itself accepts ``signature_b64`` over ``message`` under the public key
    ``label`` (generated with a public key object): a check that does not go through the code under test."""
    import base64
    import hashlib

    import pkcs11
    from pkcs11 import Mechanism, ObjectClass
    from pkcs11.util.ec import decode_ecdsa_signature

    signature = base64.b64decode(signature_b64)
    with pkcs11.lib(token.module).get_token(token_label=token.label).open() as session:
        public = session.get_key(object_class=ObjectClass.PUBLIC_KEY, label=label)
        if kind == "ed25519":
            return public.verify(message, signature, mechanism=Mechanism.EDDSA)
        if kind == "rsa":
            return public.verify(message, signature, mechanism=Mechanism.SHA256_RSA_PKCS)
        return public.verify(hashlib.sha256(message).digest(), decode_ecdsa_signature(signature),
                             mechanism=Mechanism.ECDSA)
