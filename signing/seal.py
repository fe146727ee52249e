"""Sealing a rendered record: one PAdES signature per seal, the first a certification.

Every seal's field is created empty, with its visible stamp box, in the certified revision (later
approval signatures only fill an existing field, which DocMDP level 2 allows). pyHanko gets a
reserved signature size so it signs once, and PKCS#12 keys are parsed once per process.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.keys.internal import translate_pyca_cryptography_cert_to_asn1, translate_pyca_cryptography_key_to_asn1
from pyhanko.pdf_utils import content
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.timestamps.common_utils import TimestampRequestError
from pyhanko.stamp import StaticStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash

from .appearance import SEAL_SIZE, seal_stamp_pdf
from .errors import DamagedPdfError, NotAPdfError, SealKeyError, SigningError, TimestampError
from .model import Pkcs11Key, Pkcs12Key, SealSpec
from .render import MARGIN, PAGE_SIZE

__all__ = ["seal_pdf", "seal_boxes", "load_pkcs12_signer", "signer_certificate", "BYTES_RESERVED"]

log = logging.getLogger(__name__)

BYTES_RESERVED = 16_000
"""Room for a CMS signature with a chain of a few RSA certificates; a timestamp token (with the
TSA's chain) adds :data:`_TSA_RESERVE`. Unused room is zero padding inside /Contents."""
_TSA_RESERVE = 12_000

_pkcs12_cache: dict[tuple[str, bytes | None], signers.SimpleSigner] = {}
_pkcs12_lock = threading.Lock()


class _CachedKeySigner(signers.SimpleSigner):
    """pyHanko's SimpleSigner re-loads its private key into OpenSSL on every signature (RSA key
    checks cost ~40 ms each); this one keeps the loaded key for RSA PKCS#1 v1.5 and ECDSA."""

    def __init__(self, private_key, **kwargs) -> None:
        super().__init__(**kwargs)
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm).signature_algo
        algorithm = get_pyca_cryptography_hash(digest_algorithm)
        if mechanism == "rsassa_pkcs1v15" and isinstance(self._private_key, RSAPrivateKey):
            return self._private_key.sign(data, PKCS1v15(), algorithm)
        if mechanism == "ecdsa" and isinstance(self._private_key, EllipticCurvePrivateKey):
            return self._private_key.sign(data, ECDSA(algorithm))
        return super().sign_raw(data, digest_algorithm)


class _PdfBytesPage(content.PdfContent):
    """The first page of an in-memory PDF as a form XObject (pyHanko's ImportedPdfPage reads files)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        super().__init__()

    def render(self) -> bytes:
        writer = self._ensure_writer
        xobj = writer.import_page_as_xobject(PdfFileReader(io.BytesIO(self.data)), page_ix=0)
        self.resources.xobject["/SealStamp"] = xobj
        x1, y1, x2, y2 = xobj.get_object()["/BBox"]
        self.box = content.BoxConstraints(width=abs(x1 - x2), height=abs(y1 - y2))
        return b"/SealStamp Do"


def load_pkcs12_signer(key: Pkcs12Key) -> signers.SimpleSigner:
    """The pyHanko signer for a PKCS#12 key, parsed once per process and cached.

    Raises :class:`SealKeyError` for a wrong password or a file that is no PKCS#12.
    """
    cache_key = (hashlib.sha256(key.data).hexdigest(), key.password)
    with _pkcs12_lock:
        signer = _pkcs12_cache.get(cache_key)
        if signer is None:
            try:
                private_key, cert, others = pkcs12.load_key_and_certificates(key.data, key.password)
            except (ValueError, TypeError) as exc:
                raise SealKeyError(f"cannot load the PKCS#12 seal key (wrong password?): {exc}") from exc
            if private_key is None or cert is None:
                raise SealKeyError("the PKCS#12 file holds no key and certificate")
            registry = SimpleCertificateStore()
            registry.register_multiple(translate_pyca_cryptography_cert_to_asn1(c) for c in others)
            signer = _CachedKeySigner(private_key, signing_key=translate_pyca_cryptography_key_to_asn1(private_key),
                                      signing_cert=translate_pyca_cryptography_cert_to_asn1(cert),
                                      cert_registry=registry)
            _pkcs12_cache[cache_key] = signer
        return signer


@contextmanager
def _pkcs11_signer(key: Pkcs11Key) -> Iterator[signers.Signer]:
    from pkcs11 import PKCS11Error
    from pyhanko.sign import pkcs11 as hanko_pkcs11

    try:
        session = hanko_pkcs11.open_pkcs11_session(
            key.module, token_criteria=hanko_pkcs11.TokenCriteria(label=key.token_label), user_pin=key.pin)
    except (PKCS11Error, PyHankoSigningError, OSError, RuntimeError) as exc:
        raise SealKeyError(f"cannot open PKCS#11 token {key.token_label!r}: {exc!r}") from exc
    try:
        yield hanko_pkcs11.PKCS11Signer(
            session, cert_label=key.cert_label or key.label, key_label=key.key_label or key.label,
            use_raw_mechanism=key.use_raw_mechanism)
    finally:
        session.close()


def seal_boxes(pdf: bytes, count: int) -> tuple[int, list[tuple[int, int, int, int]]]:
    """Where the ``count`` stamps go: the last page's index and one box per seal, right to left
    in the free zone that :func:`~signing.render.render_record` keeps at the bottom."""
    reader = _reader(pdf)
    last = int(reader.root["/Pages"]["/Count"]) - 1
    size = int(SEAL_SIZE)
    right = int(PAGE_SIZE[0] - MARGIN)
    bottom = int(MARGIN + 4)
    room = right - int(MARGIN) - size
    # side by side with a gap while they fit; beyond that they overlap evenly, as paper seals do
    step = size + 6 if count <= 1 or (count - 1) * (size + 6) <= room else room // (count - 1)
    boxes = []
    for i in range(count):
        x2 = right - i * step
        boxes.append((x2 - size, bottom, x2, bottom + size))
    return last, boxes


def _reader(pdf: bytes) -> PdfFileReader:
    if not pdf.lstrip()[:5].startswith(b"%PDF-"):
        raise NotAPdfError("not a PDF file")
    try:
        return PdfFileReader(io.BytesIO(pdf), strict=False)
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        raise DamagedPdfError(f"damaged PDF: {exc}") from exc


def seal_pdf(pdf: bytes, seals: Sequence[SealSpec], *, timestamper_url: str | None = None,
             timestamp_timeout: float = 10.0, validation_context: ValidationContext | None = None,
             document_timestamp: bool = False, bytes_reserved: int | None = None) -> bytes:
    """Apply ``seals`` to ``pdf`` in order and return the sealed PDF.

    The first seal certifies the document (DocMDP: form filling and further signatures allowed);
    every seal gets a visible round stamp on the last page. With ``timestamper_url`` (an RFC 3161
    TSA) each signature carries a signature timestamp (PAdES B-T). With ``validation_context``
    (trust roots, fetching allowed) the certificates' revocation information is fetched and
    embedded (B-LT). ``document_timestamp`` (needs a TSA) adds a document timestamp (B-LTA).
    ``bytes_reserved`` overrides the room kept for each signature (so pyHanko signs only once);
    the default fits a chain of a few RSA certificates plus a timestamp token.

    Raises :class:`SealKeyError` (key cannot be loaded), :class:`TimestampError` (TSA
    unreachable or refusing), :class:`NotAPdfError` / :class:`DamagedPdfError` for the input,
    and :class:`SigningError` for any other signing failure.
    """
    if not seals:
        raise SigningError("no seal to apply")
    if document_timestamp and not timestamper_url:
        raise SigningError("a document timestamp needs a TSA")
    names = [s.field_name for s in seals]
    if len(set(names)) != len(names):
        raise SigningError("two seals share a field name")
    last_page, boxes = seal_boxes(pdf, len(seals))
    timestamper = timestamps.HTTPTimeStamper(timestamper_url, timeout=timestamp_timeout) if timestamper_url else None
    reserved = bytes_reserved or BYTES_RESERVED + (_TSA_RESERVE if timestamper else 0)
    current = pdf
    for index, seal in enumerate(seals):
        writer = IncrementalPdfFileWriter(io.BytesIO(current), strict=False)
        if index == 0:
            for spec, box in zip(seals, boxes):
                fields.append_signature_field(
                    writer, fields.SigFieldSpec(spec.field_name, on_page=last_page, box=box))
        meta = signers.PdfSignatureMetadata(
            field_name=seal.field_name, md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES,
            certify=index == 0, docmdp_permissions=fields.MDPPerm.FILL_FORMS,
            reason=seal.reason or seal.purpose, location=seal.location, name=seal.agency,
            embed_validation_info=validation_context is not None, validation_context=validation_context,
            use_pades_lta=document_timestamp and index == len(seals) - 1,
        )
        style = StaticStampStyle(background=_PdfBytesPage(seal_stamp_pdf(seal.agency, seal.purpose)),
                                 border_width=0, background_opacity=1.0)
        with ExitStack() as stack:
            if isinstance(seal.key, Pkcs12Key):
                signer = load_pkcs12_signer(seal.key)
            else:
                signer = stack.enter_context(_pkcs11_signer(seal.key))
            pdf_signer = signers.PdfSigner(meta, signer=signer, timestamper=timestamper, stamp_style=style)
            try:
                out = pdf_signer.sign_pdf(writer, existing_fields_only=True, bytes_reserved=reserved)
            except TimestampRequestError as exc:
                raise TimestampError(f"the TSA at {timestamper_url} failed: {exc}") from exc
            except (PyHankoSigningError, PdfError, ValueError) as exc:
                raise SigningError(f"sealing with {seal.field_name!r} failed: {exc}") from exc
            except Exception as exc:
                if type(exc).__module__.startswith("pkcs11"):
                    raise SealKeyError(f"the PKCS#11 token refused to sign: {exc!r}") from exc
                raise
        current = out.getvalue()
    return current


def signer_certificate(seal: SealSpec) -> asn1_x509.Certificate:
    """The certificate a seal signs with (loads the key; see :func:`load_pkcs12_signer`)."""
    if isinstance(seal.key, Pkcs12Key):
        return load_pkcs12_signer(seal.key).signing_cert
    with _pkcs11_signer(seal.key) as signer:
        return signer.signing_cert
