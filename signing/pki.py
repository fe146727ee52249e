"""A demonstration PKI: a root CA and one seal certificate (PKCS#12) per agency, plus a TSA
certificate and CRLs for tests and the demo. Every subject says "演示 DEMO" so no one mistakes
these for real seals.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["DemoSeal", "DemoPki", "make_demo_pki", "write_demo_seal_pkcs12", "issue_demo_seal_certificate",
           "make_demo_tsa", "make_demo_crl", "DEMO_MARK"]

DEMO_MARK = "演示 DEMO"


@dataclass(frozen=True, slots=True)
class DemoSeal:
    """One agency's demo seal: its PKCS#12 file (key and chain) and the certificate's serial."""

    agency: str
    pkcs12_path: Path
    certificate_path: Path
    serial: int


@dataclass(frozen=True, slots=True)
class DemoPki:
    """What :func:`make_demo_pki` wrote: the root's certificate and key, and a seal per agency."""

    directory: Path
    root_certificate_path: Path
    root_key_path: Path
    password: bytes
    seals: dict[str, DemoSeal] = field(default_factory=dict)

    def root_certificate_pem(self) -> bytes:
        """The root certificate (PEM), the trust anchor validators need."""
        return self.root_certificate_path.read_bytes()


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "CN"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
        x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DEMO_MARK),
        x509.NameAttribute(NameOID.COMMON_NAME, common_name),
    ])


def _serial(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:15], "big") | 1


def _key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _load_root(pki: DemoPki) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    cert = x509.load_pem_x509_certificate(pki.root_certificate_path.read_bytes())
    key = serialization.load_pem_private_key(pki.root_key_path.read_bytes(), password=pki.password)
    return cert, key  # type: ignore[return-value]


def _issue(subject: x509.Name, public_key, issuer: x509.Certificate, issuer_key, serial: int,
           now: datetime, days: int, extensions: Iterable[tuple[x509.ExtensionType, bool]]) -> x509.Certificate:
    builder = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer.subject)
               .public_key(public_key).serial_number(serial)
               .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=days))
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                              critical=False))
    for extension, critical in extensions:
        builder = builder.add_extension(extension, critical=critical)
    return builder.sign(issuer_key, hashes.SHA256())


def _revocation_extensions(crl_url: str | None) -> list[tuple[x509.ExtensionType, bool]]:
    if not crl_url:
        return []
    point = x509.DistributionPoint([x509.UniformResourceIdentifier(crl_url)], None, None, None)
    return [(x509.CRLDistributionPoints([point]), False)]


def make_demo_pki(directory: Path | str, agencies: Sequence[str], *, password: bytes = b"demo",
                  crl_url: str | None = None, now: datetime | None = None) -> DemoPki:
    """Create a demo root CA and one seal certificate per agency under ``directory``.

    Writes ``root.pem``, ``root-key.pem`` (encrypted with ``password``) and, per agency,
    ``seal-<n>.p12`` (key, certificate and root, encrypted with ``password``) and
    ``seal-<n>.pem``. ``crl_url``, when given, goes into every seal certificate's CRL
    distribution point so validators can check revocation (see :func:`make_demo_crl`).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    now = now or datetime.now(timezone.utc)
    root_key = _key()
    root_name = _name(f"电子印章根证书（{DEMO_MARK}）", f"电子印章{DEMO_MARK}")
    root_builder = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
                    .public_key(root_key.public_key()).serial_number(_serial(f"root {now.isoformat()}"))
                    .not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=3650))
                    .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                    .add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                                   critical=True)
                    .add_extension(x509.SubjectKeyIdentifier.from_public_key(root_key.public_key()),
                                   critical=False))
    root = root_builder.sign(root_key, hashes.SHA256())
    root_path = directory / "root.pem"
    root_path.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    key_path = directory / "root-key.pem"
    key_path.write_bytes(root_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                serialization.BestAvailableEncryption(password)))
    key_path.chmod(0o600)
    pki = DemoPki(directory, root_path, key_path, password)
    for index, agency in enumerate(agencies, start=1):
        p12_path = directory / f"seal-{index}.p12"
        serial = _serial(f"{agency} {index} {now.isoformat()}")
        cert = _write_seal_pkcs12(p12_path, agency, root, root_key, serial, now, crl_url, password)
        cert_path = directory / f"seal-{index}.pem"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        pki.seals[agency] = DemoSeal(agency, p12_path, cert_path, serial)
    return pki


def _seal_certificate(agency: str, public_key, root: x509.Certificate, root_key, serial: int, now: datetime,
                      crl_url: str | None) -> x509.Certificate:
    return _issue(_name(f"{agency}电子印章（{DEMO_MARK}）", agency), public_key, root, root_key, serial, now, 1825, [
        (x509.BasicConstraints(ca=False, path_length=None), True),
        (x509.KeyUsage(True, True, False, False, False, False, False, False, False), True),
        *_revocation_extensions(crl_url)])


def _write_seal_pkcs12(path: Path, agency: str, root: x509.Certificate, root_key, serial: int, now: datetime,
                       crl_url: str | None, password: bytes) -> x509.Certificate:
    """A new key and its seal certificate written to ``path`` as PKCS#12 (key, certificate and
    root, encrypted with ``password``, readable by the owner only); returns the certificate."""
    key = _key()
    cert = _seal_certificate(agency, key.public_key(), root, root_key, serial, now, crl_url)
    encryption = (serialization.PrivateFormat.PKCS12.encryption_builder()
                  .kdf_rounds(2048).key_cert_algorithm(pkcs12.PBES.PBESv2SHA256AndAES256CBC)
                  .hmac_hash(hashes.SHA256()).build(password))
    path.write_bytes(pkcs12.serialize_key_and_certificates(path.stem.encode(), key, cert, [root], encryption))
    path.chmod(0o600)
    return cert


def write_demo_seal_pkcs12(pki: DemoPki, agency: str, path: Path, *, crl_url: str | None = None,
                           now: datetime | None = None) -> bytes:
    """One more demo seal of ``agency`` under ``pki``: a new key and its certificate written to
    ``path`` as PKCS#12 (encrypted with the PKI's password). Returns the certificate (DER)."""
    now = now or datetime.now(timezone.utc)
    root, root_key = _load_root(pki)
    cert = _write_seal_pkcs12(Path(path), agency, root, root_key, _serial(f"{agency} {path} {now.isoformat()}"), now,
                              crl_url, pki.password)
    return cert.public_bytes(serialization.Encoding.DER)


def issue_demo_seal_certificate(pki: DemoPki, agency: str, public_key_der: bytes, *, crl_url: str | None = None,
                                now: datetime | None = None) -> bytes:
    """A demo seal certificate (DER) for a key that lives elsewhere, e.g. generated on a PKCS#11
    token: ``public_key_der`` is its SubjectPublicKeyInfo."""
    now = now or datetime.now(timezone.utc)
    root, root_key = _load_root(pki)
    public_key = serialization.load_der_public_key(public_key_der)
    cert = _seal_certificate(agency, public_key, root, root_key, _serial(f"{agency} token {now.isoformat()}"), now,
                             crl_url)
    return cert.public_bytes(serialization.Encoding.DER)


def make_demo_tsa(pki: DemoPki, *, now: datetime | None = None) -> tuple[bytes, bytes]:
    """Issue a demo time-stamping certificate (a P-256 key: cheap to sign with, so a local TSA
    answers in milliseconds) under the demo root.

    Returns ``(certificate PEM, unencrypted PKCS#8 key PEM)`` for a local RFC 3161 service.
    """
    now = now or datetime.now(timezone.utc)
    root, root_key = _load_root(pki)
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _issue(_name(f"时间戳服务（{DEMO_MARK}）", f"电子印章{DEMO_MARK}"), key.public_key(), root, root_key,
                  _serial(f"tsa {now.isoformat()}"), now, 1825, [
                      (x509.BasicConstraints(ca=False, path_length=None), True),
                      (x509.KeyUsage(True, False, False, False, False, False, False, False, False), True),
                      (x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), True)])
    return (cert.public_bytes(serialization.Encoding.PEM),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()))


def make_demo_crl(pki: DemoPki, revoked_serials: Iterable[int], *, now: datetime | None = None,
                  next_update: timedelta = timedelta(days=7)) -> bytes:
    """A CRL (DER) signed by the demo root listing ``revoked_serials`` as revoked at ``now``."""
    now = now or datetime.now(timezone.utc)
    root, root_key = _load_root(pki)
    builder = (x509.CertificateRevocationListBuilder().issuer_name(root.subject)
               .last_update(now - timedelta(minutes=5)).next_update(now + next_update)
               .add_extension(x509.CRLNumber(int(now.timestamp())), critical=False)
               .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(root_key.public_key()),
                              critical=False))
    for serial in revoked_serials:
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now - timedelta(minutes=1))
            .build())
    return builder.sign(root_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)
