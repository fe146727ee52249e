"""Plain data in and out of the signing library: the record of a case, seal specifications and
the verification report. Nothing here knows about Flask or a database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

__all__ = [
    "FormField", "Material", "TrailEntry", "CaseRecord",
    "Pkcs12Key", "Pkcs11Key", "KeySource", "SealSpec",
    "SignatureReport", "VerificationReport",
]


@dataclass(frozen=True, slots=True)
class FormField:
    """One filled-in field of the application form, as shown: its label and its value."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class Material:
    """One uploaded material: what it is (the material's name), the file's name and SHA-256."""

    name: str
    file_name: str
    sha256: str


@dataclass(frozen=True, slots=True)
class TrailEntry:
    """One act in the approval trail.

    ``acted`` is the label of who acted, already composed by the caller, e.g. "王五（代张三）" for
    a delegated act. ``time_limit_met`` is None when the step has no time limit.
    """

    step: str
    person: str
    title: str
    acted: str
    decision: str
    comment: str
    at: datetime
    time_limit_met: bool | None = None


@dataclass(frozen=True, slots=True)
class CaseRecord:
    """Everything the sealed record of a finished case shows. Times are timezone-aware."""

    number: str
    agency: str
    matter: str
    applicant: str
    submitted_at: datetime
    finished_at: datetime
    outcome: str
    form: tuple[FormField, ...] = ()
    materials: tuple[Material, ...] = ()
    trail: tuple[TrailEntry, ...] = ()
    due_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Pkcs12Key:
    """A seal key and certificate chain in a PKCS#12 file (its bytes and password)."""

    data: bytes
    password: bytes | None = None


@dataclass(frozen=True, slots=True)
class Pkcs11Key:
    """A seal key on a PKCS#11 token (SoftHSM2 in tests, a UKey or HSM in production).

    ``key_label`` and ``cert_label`` default to ``label``. EC keys on SoftHSM2 2.6 need
    ``use_raw_mechanism`` (the library hashes, the token signs the digest).
    """

    module: str
    token_label: str
    pin: str
    label: str
    key_label: str | None = None
    cert_label: str | None = None
    use_raw_mechanism: bool = False


KeySource = Pkcs12Key | Pkcs11Key


@dataclass(frozen=True, slots=True)
class SealSpec:
    """One seal to apply: the key, the name of its signature field, and what its stamp shows."""

    key: KeySource
    field_name: str
    agency: str
    purpose: str
    reason: str | None = None
    location: str | None = None


@dataclass(frozen=True, slots=True)
class SignatureReport:
    """What a validator can tell about one signature of a PDF.

    ``signer`` is the certificate's common name, ``organization`` its O (the agency), ``seal``
    the signature field's name. ``time_source`` is "tsa" when an RFC 3161 timestamp token
    vouches for ``signed_at``, else "local" (the signer's own claim). ``modified_after`` lists
    what later revisions changed (empty when nothing): a kind ("validation_data",
    "form_filling", "annotations", "other") then ``field:<name>`` per changed form field;
    ``modification_allowed`` says whether the certification level permits it. ``revoked``: the
    certificate was found revoked. ``notes`` carry the validator's remarks.
    """

    field_name: str
    signer: str
    organization: str
    seal: str
    signed_at: datetime | None
    time_source: Literal["tsa", "local"]
    intact: bool
    valid: bool
    trusted: bool
    revoked: bool
    certification: bool
    covers_whole_document: bool
    modified_after: tuple[str, ...]
    modification_allowed: bool
    level: Literal["B-B", "B-T", "B-LT", "B-LTA"]
    certificate_serial: str
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class VerificationReport:
    """The verification of a whole PDF: each signature, and whether the file as a whole holds.

    ``valid`` is False for a PDF without any signature: an unsigned file proves nothing.
    """

    signatures: tuple[SignatureReport, ...]
    document_timestamps: int = 0

    @property
    def valid(self) -> bool:
        """True when there is at least one signature and every one is intact, trusted and
        either covers the whole document or was followed only by allowed changes."""
        return bool(self.signatures) and all(
            s.intact and s.valid and s.trusted and (s.covers_whole_document or s.modification_allowed)
            for s in self.signatures)
