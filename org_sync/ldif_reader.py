"""Read a directory export (LDIF) as entries, the same shape an LDAP read produces."""

from __future__ import annotations

import io
import uuid
from pathlib import Path

import ldif

from .model import DirEntry, ReadResult, SyncSourceError

__all__ = ["read_ldif"]

_DN_NAMESPACE = uuid.UUID("7d6f1b3e-3c4f-4d0c-9a55-1a2b3c4d5e6f")


def _decode(values: list[bytes]) -> list[str]:
    out = []
    for value in values:
        try:
            out.append(value.decode("utf-8"))
        except UnicodeDecodeError:
            continue
    return out


def read_ldif(source: str | Path | bytes, *, id_attribute: str = "entryUUID") -> ReadResult:
    """Parse an LDIF file (path or bytes) into a complete :class:`ReadResult`.

    Entries carry their stable id in ``id_attribute``; an entry without one gets a name-based
    UUID derived from its DN (stable only while the entry is not renamed), and the result says so
    in its ``source``. Raises :class:`SyncSourceError` for an unreadable or malformed file.
    """
    if isinstance(source, (str, Path)):
        path = Path(source)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise SyncSourceError(f"cannot read LDIF file {path}: {exc.strerror}") from exc
        label = f"ldif:{path.name}"
    else:
        data = source
        label = "ldif"
    parser = ldif.LDIFRecordList(io.StringIO(data.decode("utf-8", errors="strict")) if data else io.StringIO(""))
    try:
        parser.parse()
    except (ValueError, UnicodeDecodeError) as exc:
        raise SyncSourceError(f"malformed LDIF: {exc}") from exc
    entries = []
    derived = 0
    key = id_attribute.lower()
    for dn, raw in parser.all_records:
        attrs = {name.lower(): _decode(values) for name, values in raw.items()}
        ident = (attrs.get(key) or [None])[0]
        if not ident:
            ident = str(uuid.uuid5(_DN_NAMESPACE, dn.lower()))
            derived += 1
        classes = frozenset(v.lower() for v in attrs.get("objectclass", []))
        entries.append(DirEntry(dn=dn, entry_id=ident.lower(), object_classes=classes, attrs=attrs))
    if derived:
        label += f" ({derived} entries without {id_attribute})"
    return ReadResult(entries=tuple(entries), complete=True, source=label)
