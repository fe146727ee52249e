"""Reading the org directory from OpenLDAP or Active Directory (python-ldap).

The reader turns directory entries into :class:`org_sync.model.DirEntry` records and knows
nothing about the platform's vocabulary (that is :mod:`org_sync.snapshot`'s job). Its promise is
*completeness*: a :class:`~org_sync.model.ReadResult` with ``complete=True`` lists every OU,
person and group below the base DN, and anything that would make a read partial -- a size, time
or administrative limit, a referral, a page without paging control, a server that stops
answering -- raises :class:`~org_sync.model.SyncSourceError` instead of returning what arrived.

Entry points:

* :func:`read_full` -- one paged subtree search (Simple Paged Results, RFC 2696).
* :func:`read_incremental` -- changes since a cookie: RFC 4533 content sync (refreshOnly) on
  OpenLDAP with ``syncprov``; ``uSNChanged`` on Active Directory; ``entryCSN`` on OpenLDAP
  without ``syncprov``. The last two add an id-only sweep so deletions can be found.
* :func:`find_user_dn` and :func:`check_password` -- login by bind.

Conventions of what is returned:

* ``DirEntry.dn`` is the DN exactly as the server sent it (compare DNs with
  :func:`ldap.dn.str2dn` / :func:`dn_key`, never as raw strings: servers escape differently).
* ``DirEntry.attrs`` keys are lower-cased attribute names; values are decoded UTF-8 strings.
  AD ``objectGUID`` arrives as the canonical UUID text; ranged AD values
  (``member;range=0-1499``) are fetched completely and stored under the plain name (``member``).
* ``DirEntry.object_classes`` holds the lower-cased object class names.
* ``DirEntry.entry_id`` is ``entryUUID`` (OpenLDAP) or ``str(uuid.UUID(bytes_le=objectGUID))``
  (AD), lower-case.
* The base entry itself is never returned: entries are strictly *below* ``base_dn``.

Moved or renamed OUs: a modrdn of an OU changes the DN of everything below it, but the children
are not changed entries and an incremental read does not resend them. Therefore, whenever an
incremental read contains an OU entry (added, changed, renamed or moved), :func:`read_incremental`
returns a full read instead (``complete=True``, with the new cookie). Deleting an OU needs its
children deleted first, so deletions need no such rule.

Timeouts: :attr:`LdapSettings.timeout` is applied as ``OPT_NETWORK_TIMEOUT`` (connect) and
``OPT_TIMEOUT`` (every wait for a server message), so a frozen server raises
:class:`SyncSourceError` after at most that many seconds per request.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import re
import sys
import time
import uuid
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

os.environ.setdefault("LDAPNOINIT", "1")  # a service must not pick up ~/.ldaprc or ldap.conf

import ldap  # noqa: E402
import ldap.dn  # noqa: E402
import ldap.filter  # noqa: E402
from ldap.controls import SimplePagedResultsControl  # noqa: E402
from ldap.ldapobject import LDAPObject  # noqa: E402
from ldap.syncrepl import (  # noqa: E402  (importing registers the sync response controls)
    SyncDoneControl,
    SyncInfoMessage,
    SyncRequestControl,
    SyncStateControl,
)

from org_sync.model import DirEntry, ReadResult, SyncSourceError  # noqa: E402
from org_sync.snapshot import normalize_dn  # noqa: E402

__all__ = [
    "LdapSettings",
    "RangeAttr",
    "FLAVORS",
    "INCREMENTAL_MODES",
    "SYNC_CONTROL_OID",
    "default_user_filter",
    "default_login_attr",
    "connect",
    "read_full",
    "read_incremental",
    "find_user_dn",
    "check_password",
    "parse_range_attr",
    "guid_to_str",
    "dn_key",
]

FLAVORS = ("openldap", "ad")
INCREMENTAL_MODES = ("auto", "syncrepl", "csn", "usn")
SYNC_CONTROL_OID = SyncRequestControl.controlType  # 1.3.6.1.4.1.4203.1.9.1.1

_OPENLDAP_USER_FILTER = "(objectClass=inetOrgPerson)"
# In AD computers are objectClass=user too; objectCategory=person keeps only people.
_AD_USER_FILTER = "(&(objectCategory=person)(objectClass=user))"
_RESULT_SYNC_REFRESH_REQUIRED = 4096  # e-syncRefreshRequired (RFC 4533 section 3.4)

_COMMON_ATTRS = (
    "objectClass", "ou", "cn", "displayName", "title", "manager", "secretary", "mail", "mobile", "member",
    "modifyTimestamp",
)
_OPENLDAP_ATTRS = _COMMON_ATTRS + ("uid", "employeeType", "businessCategory", "entryUUID", "entryCSN")
_AD_ATTRS = _COMMON_ATTRS + (
    "sAMAccountName", "employeeType", "businessCategory", "extensionAttribute1",
    "extensionAttribute2", "objectGUID", "uSNChanged",
)
# Continuation references AD returns for its application partitions when searching at a domain
# root; they are not part of the org tree and are skipped (any other reference is an error).
_AD_IGNORED_REFERENCE_RDNS = ("dc=domaindnszones", "dc=forestdnszones", "cn=configuration")


def default_user_filter(flavor: str) -> str:
    """The default person filter: ``(objectClass=inetOrgPerson)`` or, for AD,
    ``(&(objectCategory=person)(objectClass=user))`` (plain ``objectClass=user`` matches computers)."""
    return _AD_USER_FILTER if flavor == "ad" else _OPENLDAP_USER_FILTER


def default_login_attr(flavor: str) -> str:
    """The default login attribute: ``uid`` (OpenLDAP) or ``sAMAccountName`` (AD)."""
    return "sAMAccountName" if flavor == "ad" else "uid"


@dataclass(frozen=True)
class LdapSettings:
    """How to reach and read the directory.

    ``flavor`` is ``"openldap"`` or ``"ad"``. When ``flavor="ad"`` and ``user_filter`` /
    ``login_attr`` are left at their OpenLDAP defaults, they become the AD defaults
    (:func:`default_user_filter`, :func:`default_login_attr`); likewise ``group_filter``
    (``groupOfNames`` / ``group``). ``incremental`` picks the change-tracking method of
    :func:`read_incremental`: ``auto`` (content sync when the server offers it, else ``usn`` on AD
    and ``csn`` on OpenLDAP), or one of ``syncrepl``, ``csn``, ``usn``.

    ``tls_cacertfile`` names the CA bundle for StartTLS or ``ldaps://`` (system store if None);
    certificates are always verified.
    """

    uri: str
    base_dn: str
    bind_dn: str | None = None
    bind_password: str | None = field(default=None, repr=False)
    flavor: str = "openldap"
    starttls: bool = False
    timeout: float = 10.0
    page_size: int = 500
    user_filter: str = _OPENLDAP_USER_FILTER
    login_attr: str = "uid"
    ou_filter: str = "(objectClass=organizationalUnit)"
    group_filter: str | None = None
    incremental: str = "auto"
    tls_cacertfile: str | None = None

    def __post_init__(self) -> None:
        if self.flavor not in FLAVORS:
            raise ValueError(f"LDAP flavor must be one of {FLAVORS}, not {self.flavor!r}")
        if self.incremental not in INCREMENTAL_MODES:
            raise ValueError(f"incremental mode must be one of {INCREMENTAL_MODES}, not {self.incremental!r}")
        if not self.uri or not self.uri.lower().startswith(("ldap://", "ldaps://", "ldapi://")):
            raise ValueError(f"LDAP URI must start with ldap://, ldaps:// or ldapi://, not {self.uri!r}")
        if not self.base_dn or not ldap.dn.is_dn(self.base_dn):
            raise ValueError(f"base DN {self.base_dn!r} is not a valid DN")
        if self.timeout <= 0:
            raise ValueError("timeout must be positive")
        if not 1 <= self.page_size <= 10_000:
            raise ValueError("page_size must be between 1 and 10000")
        for name in ("user_filter", "ou_filter", "group_filter"):
            value = getattr(self, name)
            if value is not None and not (value.startswith("(") and value.endswith(")")):
                raise ValueError(f"{name} must be a parenthesised LDAP filter, not {value!r}")
        if self.flavor == "ad":
            if self.user_filter == _OPENLDAP_USER_FILTER:
                object.__setattr__(self, "user_filter", _AD_USER_FILTER)
            if self.login_attr == "uid":
                object.__setattr__(self, "login_attr", "sAMAccountName")
        if self.group_filter is None:
            object.__setattr__(
                self, "group_filter", "(objectClass=group)" if self.flavor == "ad" else "(objectClass=groupOfNames)"
            )

    @classmethod
    def active_directory(cls, uri: str, base_dn: str, **kwargs: Any) -> LdapSettings:
        """Settings for Active Directory (``flavor="ad"`` with the AD defaults)."""
        return cls(uri, base_dn, flavor="ad", **kwargs)

    @property
    def id_attr(self) -> str:
        """The stable-id attribute: ``entryUUID`` or ``objectGUID``."""
        return "objectGUID" if self.flavor == "ad" else "entryUUID"

    @property
    def object_filter(self) -> str:
        """The filter matching everything the org sync reads (OUs, people, groups)."""
        return f"(|{self.ou_filter}{self.user_filter}{self.group_filter})"

    @property
    def attributes(self) -> list[str]:
        """The attributes requested for each entry."""
        attrs = list(_AD_ATTRS if self.flavor == "ad" else _OPENLDAP_ATTRS)
        if self.login_attr not in attrs:
            attrs.append(self.login_attr)
        return attrs


# ---- pure helpers ------------------------------------------------------------------------


@dataclass(frozen=True)
class RangeAttr:
    """A parsed ranged attribute description such as ``member;range=1500-2999``.

    ``end`` is None for the last chunk (``*``).
    """

    attr: str
    start: int
    end: int | None

    @property
    def is_last(self) -> bool:
        """True for the final chunk (``range=N-*``)."""
        return self.end is None

    def next_request(self) -> str:
        """The attribute description that asks for the chunk after this one."""
        if self.end is None:
            raise ValueError("the last range has no successor")
        return f"{self.attr};range={self.end + 1}-*"


_RANGE_RE = re.compile(r"^(?P<attr>[A-Za-z0-9][A-Za-z0-9-]*)(?P<opts>(?:;[^;]+)*)$")
_RANGE_OPT_RE = re.compile(r"^range=(\d+)-(\d+|\*)$", re.IGNORECASE)


def parse_range_attr(name: str) -> RangeAttr | None:
    """Parse AD's ranged attribute name; None when ``name`` carries no ``range=`` option.

    ``"member;range=0-1499"`` -> ``RangeAttr("member", 0, 1499)``;
    ``"member;Range=1500-*"`` -> ``RangeAttr("member", 1500, None)``; other options (``;binary``)
    are dropped from ``attr``. A malformed range (``range=5-2``, ``range=a-b``) raises ValueError.
    """
    match = _RANGE_RE.match(name.strip())
    if not match:
        if ";range=" in name.lower():
            raise ValueError(f"malformed ranged attribute {name!r}")
        return None
    found: RangeAttr | None = None
    for opt in filter(None, match.group("opts").split(";")):
        if not opt.lower().startswith("range="):
            continue
        rng = _RANGE_OPT_RE.match(opt)
        if not rng or found is not None:
            raise ValueError(f"malformed ranged attribute {name!r}")
        start = int(rng.group(1))
        end = None if rng.group(2) == "*" else int(rng.group(2))
        if end is not None and end < start:
            raise ValueError(f"malformed ranged attribute {name!r}: end before start")
        found = RangeAttr(match.group("attr"), start, end)
    return found


def guid_to_str(guid: bytes) -> str:
    """AD ``objectGUID`` (16 bytes, little-endian fields) -> canonical UUID text."""
    if len(guid) != 16:
        raise ValueError(f"objectGUID must be 16 bytes, got {len(guid)}")
    return str(uuid.UUID(bytes_le=bytes(guid)))


def dn_key(dn: str) -> tuple[tuple[tuple[str, str], ...], ...]:
    """A comparable form of a DN: parsed with :func:`ldap.dn.str2dn`, types and values case-folded.

    ``dn_key("ou=A\\2CB,dc=x") == dn_key("OU=a\\,b, DC=X")``. (Case-folding values matches the
    ``caseIgnoreMatch`` of ``ou``, ``cn``, ``dc`` and ``uid``.) Raises :class:`ldap.DECODING_ERROR`
    for a malformed DN.
    """
    try:
        return normalize_dn(dn)
    except ValueError:
        raise ldap.DECODING_ERROR(f"malformed DN: {dn!r}") from None


# ---- errors --------------------------------------------------------------------------------


def _ldap_info(exc: ldap.LDAPError) -> str:
    arg = exc.args[0] if exc.args else None
    if isinstance(arg, dict):
        parts = [str(arg.get("desc", "")).strip(), str(arg.get("info", "")).strip()]
        return ": ".join(p for p in parts if p) or type(exc).__name__
    return str(exc) or type(exc).__name__


def _wrap(exc: ldap.LDAPError, settings: LdapSettings, action: str, who: str | None = None) -> SyncSourceError:
    """Translate a python-ldap error into a :class:`SyncSourceError` with a clear message."""
    info = _ldap_info(exc)
    uri = settings.uri
    if isinstance(exc, ldap.TIMEOUT):
        msg = f"LDAP server {uri} did not answer within {settings.timeout:g} s while {action}"
    elif isinstance(exc, ldap.SERVER_DOWN):
        msg = f"LDAP server {uri} is unreachable or closed the connection while {action} ({info})"
    elif isinstance(exc, ldap.INVALID_CREDENTIALS):
        msg = f"LDAP bind as {who or settings.bind_dn or '(anonymous)'} was refused: invalid credentials"
    elif isinstance(exc, ldap.NO_SUCH_OBJECT):
        msg = (f"base DN {settings.base_dn} does not exist on {uri} "
               f"(or the bind account may not see it) while {action}")
    elif isinstance(exc, ldap.SIZELIMIT_EXCEEDED):
        msg = (f"LDAP size limit exceeded while {action}: the read is incomplete "
               f"(raise the size limit of {settings.bind_dn or 'anonymous'} on {uri})")
    elif isinstance(exc, ldap.TIMELIMIT_EXCEEDED):
        msg = f"LDAP time limit exceeded while {action}: the read is incomplete"
    elif isinstance(exc, ldap.ADMINLIMIT_EXCEEDED):
        msg = f"LDAP administrative limit exceeded while {action}: the read is incomplete ({info})"
    elif isinstance(exc, (ldap.REFERRAL, ldap.PARTIAL_RESULTS)):
        msg = f"LDAP server {uri} referred elsewhere while {action}: the read is incomplete ({info})"
    elif isinstance(exc, ldap.UNAVAILABLE_CRITICAL_EXTENSION):
        msg = f"LDAP server {uri} does not support a control needed while {action} ({info})"
    elif isinstance(exc, ldap.CONNECT_ERROR):
        msg = f"could not establish a (TLS) connection to {uri} while {action} ({info})"
    else:
        msg = f"LDAP error while {action} on {uri}: {info}"
    err = SyncSourceError(msg)
    err.__cause__ = exc
    return err


# ---- connecting ---------------------------------------------------------------------------


def _open(settings: LdapSettings) -> LDAPObject:
    conn = LDAPObject(settings.uri)
    conn.protocol_version = ldap.VERSION3
    conn.set_option(ldap.OPT_REFERRALS, 0)
    conn.set_option(ldap.OPT_NETWORK_TIMEOUT, float(settings.timeout))
    conn.set_option(ldap.OPT_TIMEOUT, float(settings.timeout))
    conn.timeout = float(settings.timeout)  # python-ldap's own default for *_s() waits
    if settings.starttls or settings.uri.lower().startswith("ldaps://"):
        conn.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)
        if settings.tls_cacertfile:
            conn.set_option(ldap.OPT_X_TLS_CACERTFILE, settings.tls_cacertfile)
        conn.set_option(ldap.OPT_X_TLS_NEWCTX, 0)
    return conn


def _close(conn: LDAPObject | None) -> None:
    if conn is None:
        return
    try:
        conn.unbind_ext_s()
    except ldap.LDAPError:
        pass


def connect(settings: LdapSettings, *, bind: bool = True) -> LDAPObject:
    """Open a connection: protocol v3, no referral chasing, network and operation timeouts,
    StartTLS when ``settings.starttls``, then a simple bind as ``settings.bind_dn`` (anonymous when
    it is None; ``bind=False`` skips binding).

    Raises :class:`SyncSourceError` for every LDAP failure (server down, bad credentials, timeout,
    TLS failure). A bind DN with an empty password is refused before it reaches the server: an
    LDAP "unauthenticated bind" would silently succeed as anonymous on some servers.
    """
    conn: LDAPObject | None = None
    action = "connecting"
    try:
        conn = _open(settings)
        if settings.starttls and not settings.uri.lower().startswith("ldaps://"):
            action = "starting TLS"
            conn.start_tls_s()
        if bind:
            if settings.bind_dn and not settings.bind_password:
                raise SyncSourceError(f"no password configured for the LDAP bind DN {settings.bind_dn}")
            action = "binding"
            conn.simple_bind_s(settings.bind_dn or "", settings.bind_password or "")
        return conn
    except ldap.LDAPError as exc:
        _close(conn)
        raise _wrap(exc, settings, action) from exc
    except BaseException:
        _close(conn)
        raise


# ---- converting entries ---------------------------------------------------------------------


_ATTR_NAMES: dict[str, str] = {}


def _attr_name(name: str) -> str:
    """``member;range=0-1499`` → ``member``, lower-cased and interned (names repeat per entry)."""
    base = _ATTR_NAMES.get(name)
    if base is None:
        base = sys.intern(name.split(";", 1)[0].lower())
        if len(_ATTR_NAMES) < 4096:
            _ATTR_NAMES[name] = base
    return base


_SKIPPED_BINARY = frozenset({"objectsid", "usercertificate", "jpegphoto", "thumbnailphoto"})
_OBJECT_CLASSES: dict[tuple[str, ...], frozenset[str]] = {}


def _decode_attrs(dn: str, raw: dict[str, list[bytes]]) -> dict[str, list[str]]:
    attrs: dict[str, list[str]] = {}
    for name, values in raw.items():
        base = _attr_name(name)
        if base == "objectguid":
            try:
                decoded = [guid_to_str(v) for v in values]
            except ValueError as exc:
                raise SyncSourceError(f"entry {dn}: malformed objectGUID") from exc
        elif base in _SKIPPED_BINARY:
            continue  # binary, not needed
        else:
            try:
                decoded = list(map(bytes.decode, values))  # UTF-8, strict
            except UnicodeDecodeError as exc:
                raise SyncSourceError(f"entry {dn}: attribute {name} is not valid UTF-8") from exc
        if base in attrs:
            attrs[base].extend(decoded)
        else:
            attrs[base] = decoded
    return attrs


def _object_classes(values: list[str]) -> frozenset[str]:
    """The lower-cased object classes; shared between entries (a directory has few combinations)."""
    key = tuple(values)
    found = _OBJECT_CLASSES.get(key)
    if found is None:
        found = frozenset(v.lower() for v in values)
        if len(_OBJECT_CLASSES) < 1024:
            _OBJECT_CLASSES[key] = found
    return found


def _to_entry(settings: LdapSettings, dn: str, raw: dict[str, list[bytes]], entry_id: str | None = None) -> DirEntry:
    attrs = _decode_attrs(dn, raw)
    if entry_id is None:
        ids = attrs.get(settings.id_attr.lower())
        if not ids:
            raise SyncSourceError(
                f"entry {dn} has no {settings.id_attr}: the bind account may lack read access to it"
            )
        entry_id = ids[0]
    if not _CANONICAL_UUID.match(entry_id):  # OpenLDAP sends the canonical form: keep it as it is
        entry_id = str(uuid.UUID(entry_id)) if _looks_like_uuid(entry_id) else entry_id.lower()
    return DirEntry(
        dn=dn,
        entry_id=entry_id,
        object_classes=_object_classes(attrs.get("objectclass", [])),
        attrs=attrs,
    )


_CANONICAL_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _looks_like_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def _is_ou(settings: LdapSettings, entry: DirEntry) -> bool:
    wanted = re.findall(r"objectclass=([^)]+)", settings.ou_filter, flags=re.IGNORECASE)
    return any(w.strip().lower() in entry.object_classes for w in wanted) or "organizationalunit" in entry.object_classes


# ---- paged search ---------------------------------------------------------------------------


def _reference_ok(settings: LdapSettings, urls: list[Any]) -> bool:
    """True when a continuation reference may be ignored (AD application partitions only)."""
    if settings.flavor != "ad" or not urls:
        return False
    for url in urls:
        text = url.decode("utf-8", "replace") if isinstance(url, bytes) else str(url)
        dn_part = text.split("/", 3)[3] if text.count("/") >= 3 else ""
        first = dn_part.split(",", 1)[0].strip().lower()
        if first not in _AD_IGNORED_REFERENCE_RDNS:
            return False
    return True


@dataclass
class _Pages:
    count: int = 0


def _paged_search(
    conn: LDAPObject,
    settings: LdapSettings,
    filterstr: str,
    attrlist: list[str],
    action: str,
    stats: _Pages | None = None,
) -> Iterator[tuple[str, dict[str, list[bytes]]]]:
    """Yield (dn, raw attrs) for a subtree search below the base, page by page.

    Every page must carry the paged-results response control; a page without it, a search
    reference or any non-success result raises :class:`SyncSourceError`.
    """
    page = SimplePagedResultsControl(True, size=settings.page_size, cookie="")
    stats = stats if stats is not None else _Pages()
    while True:
        try:
            msgid = conn.search_ext(settings.base_dn, ldap.SCOPE_SUBTREE, filterstr, attrlist=attrlist,
                                    serverctrls=[page])
            _rtype, rdata, _rmsgid, rctrls = conn.result3(msgid, all=1, timeout=settings.timeout)
        except ldap.LDAPError as exc:
            raise _wrap(exc, settings, action) from exc
        stats.count += 1
        for dn, attrs in rdata:
            if dn is None:
                if _reference_ok(settings, attrs):
                    continue
                raise SyncSourceError(
                    f"LDAP server {settings.uri} returned a referral ({attrs!r}) while {action}: "
                    "part of the tree is elsewhere, the read is incomplete"
                )
            yield dn, attrs
        response = [c for c in rctrls or () if c.controlType == SimplePagedResultsControl.controlType]
        if not response:
            raise SyncSourceError(
                f"LDAP server {settings.uri} answered page {stats.count} without the paged-results control "
                f"while {action}: cannot tell whether the read is complete"
            )
        cookie = response[0].cookie
        if not cookie:
            return
        page.cookie = cookie


def _fetch_ranges(conn: Any, settings: LdapSettings, dn: str, raw: dict[str, list[bytes]]) -> dict[str, list[bytes]]:
    """Complete AD ranged attributes (``member;range=0-1499``) with base searches for the rest.

    Returns a new mapping where each ranged attribute is stored under its plain name with all
    values. ``conn`` needs only ``search_ext_s``.
    """
    out: dict[str, list[bytes]] = {}
    for name, values in raw.items():
        rng = parse_range_attr(name)
        if rng is None:
            out.setdefault(name, []).extend(values)
            continue
        collected = list(values)
        seen_starts = {rng.start}
        while not rng.is_last:
            request = rng.next_request()
            try:
                res = conn.search_ext_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", [request],
                                        timeout=settings.timeout)
            except ldap.LDAPError as exc:
                raise _wrap(exc, settings, f"reading {request} of {dn}") from exc
            next_rng = None
            for rdn, rattrs in res:
                if rdn is None:
                    continue
                for rname, rvalues in rattrs.items():
                    parsed = parse_range_attr(rname)
                    if parsed is not None and parsed.attr.lower() == rng.attr.lower():
                        next_rng = parsed
                        collected.extend(rvalues)
            if next_rng is None:
                break  # no further values
            if next_rng.start in seen_starts or (next_rng.end is not None and next_rng.end < next_rng.start):
                raise SyncSourceError(f"ranged retrieval of {rng.attr} on {dn} does not advance")
            seen_starts.add(next_rng.start)
            rng = next_rng
        out.setdefault(rng.attr, []).extend(collected)
    return out


@functools.lru_cache(maxsize=64)
def _base_key(base_dn: str) -> tuple[str, ...]:
    return dn_key(base_dn)


def _separators(dn: str) -> int:
    """RDN separators in a DN string (an escaped ``\\,`` is part of a value, ``\\2C`` has no comma)."""
    return dn.count(",") - dn.count("\\,")


def _below_base(settings: LdapSettings, dn: str) -> bool:
    """True for every entry of a subtree search except the base entry itself. An entry with more
    RDNs than the base is below it (no parsing needed); only same-depth DNs are compared parsed."""
    base_key = _base_key(settings.base_dn)
    if _separators(dn) >= len(base_key):
        return True
    return dn_key(dn) != base_key


_CHANGE_MARKERS = frozenset({"entrycsn", "usnchanged", "modifytimestamp"})


def _read_attributes(settings: LdapSettings, *, csn: bool = False) -> list[str]:
    """What a paged read asks for: :attr:`LdapSettings.attributes` without the change markers
    (``entryCSN``, ``uSNChanged``, ``modifyTimestamp``), which no entry needs once read; with
    ``csn`` it keeps ``entryCSN``, from which the entryCSN method takes its cookie."""
    return [a for a in settings.attributes
            if a.lower() not in _CHANGE_MARKERS or (csn and a.lower() == "entrycsn")]


def _read_all(conn: LDAPObject, settings: LdapSettings, filterstr: str, action: str,
              stats: _Pages | None = None, *, csn: bool = False) -> list[DirEntry]:
    entries: list[DirEntry] = []
    ranged: list[tuple[str, dict[str, list[bytes]]]] = []
    attrlist = _read_attributes(settings, csn=csn)
    for dn, raw in _paged_search(conn, settings, filterstr, attrlist, action, stats):
        if not _below_base(settings, dn):
            continue
        if any(";" in name and ";range=" in name.lower() for name in raw):
            ranged.append((dn, raw))
            continue
        entries.append(_to_entry(settings, dn, raw))
    for dn, raw in ranged:  # after paging: one operation at a time on the connection
        entries.append(_to_entry(settings, dn, _fetch_ranges(conn, settings, dn, raw)))
    return entries


def _sweep_ids(conn: LDAPObject, settings: LdapSettings) -> frozenset[str]:
    """The ids of every OU, person and group below the base (id attribute only, paged)."""
    ids: set[str] = set()
    for dn, raw in _paged_search(conn, settings, settings.object_filter, [settings.id_attr], "sweeping ids"):
        if _below_base(settings, dn):
            ids.add(_to_entry(settings, dn, raw).entry_id)
    return frozenset(ids)


def read_full(settings: LdapSettings) -> ReadResult:
    """Read every OU, person and group below ``settings.base_dn`` (paged, complete or nothing).

    Raises :class:`SyncSourceError` when the base DN does not exist, when any limit cuts the
    result, when the server refers elsewhere or stops answering. ``cookie`` is None; use
    :func:`read_incremental` with ``cookie=None`` to start change tracking.
    """
    conn = connect(settings)
    try:
        entries = _read_all(conn, settings, settings.object_filter, f"reading {settings.base_dn}")
    finally:
        _close(conn)
    return ReadResult(entries=tuple(entries), complete=True, cookie=None, source=_source(settings, "full"))


def _source(settings: LdapSettings, how: str) -> str:
    return f"{settings.flavor} {settings.uri} {settings.base_dn} ({how})"


# ---- incremental --------------------------------------------------------------------------


@dataclass
class _SyncOutcome:
    changed: dict[str, DirEntry] = field(default_factory=dict)
    deleted: set[str] = field(default_factory=set)
    present: set[str] = field(default_factory=set)
    present_phase: bool = False
    cookie: str | None = None


def _root_dse(conn: LDAPObject, settings: LdapSettings, attrs: list[str]) -> dict[str, list[bytes]]:
    try:
        res = conn.search_ext_s("", ldap.SCOPE_BASE, "(objectClass=*)", attrs, timeout=settings.timeout)
    except ldap.LDAPError as exc:
        raise _wrap(exc, settings, "reading the root DSE") from exc
    for dn, attrs_ in res:
        if dn is not None:
            return {k.lower(): v for k, v in attrs_.items()}
    return {}


def _choose_mode(conn: LDAPObject, settings: LdapSettings) -> str:
    if settings.incremental != "auto":
        return settings.incremental
    if settings.flavor == "ad":
        return "usn"
    dse = _root_dse(conn, settings, ["supportedControl"])
    controls = {v.decode("ascii", "replace") for v in dse.get("supportedcontrol", [])}
    return "syncrepl" if SYNC_CONTROL_OID in controls else "csn"


def _content_sync(conn: LDAPObject, settings: LdapSettings, cookie: str | None, *, scope: int,
                  filterstr: str, attrlist: list[str], base: str | None = None) -> _SyncOutcome:
    """One RFC 4533 refreshOnly round trip; raises SyncSourceError unless it ends with syncDone."""
    action = "content sync (RFC 4533)"
    out = _SyncOutcome()
    request = SyncRequestControl(criticality=True, cookie=cookie, mode="refreshOnly")
    try:
        msgid = conn.search_ext(base or settings.base_dn, scope, filterstr, attrlist=attrlist,
                                serverctrls=[request])
        while True:
            rtype, rdata, _mid, rctrls, _n, _v = conn.result4(
                msgid, all=0, timeout=settings.timeout, add_ctrls=1, add_intermediates=1
            )
            if rtype == ldap.RES_SEARCH_ENTRY:
                for dn, raw, ectrls in rdata:
                    state = next((c for c in ectrls if isinstance(c, SyncStateControl)), None)
                    if state is None:
                        raise SyncSourceError(f"content sync entry {dn} came without a sync state control")
                    entry_id = str(uuid.UUID(state.entryUUID))
                    if state.state == "present":
                        out.present.add(entry_id)
                    elif state.state == "delete":
                        out.deleted.add(entry_id)
                    else:  # add or modify
                        out.present.add(entry_id)
                        if _below_base(settings, dn):
                            out.changed[entry_id] = _to_entry(settings, dn, raw, entry_id)
                    if state.cookie:
                        out.cookie = state.cookie
            elif rtype == ldap.RES_SEARCH_REFERENCE:
                raise SyncSourceError(f"LDAP server {settings.uri} returned a referral during {action}")
            elif rtype == ldap.RES_INTERMEDIATE:
                for name, value, _ictrls in rdata:
                    if name != SyncInfoMessage.responseName:
                        continue
                    info = SyncInfoMessage(value)
                    if info.newcookie is not None:
                        out.cookie = info.newcookie
                    elif info.syncIdSet is not None:
                        ids = {str(uuid.UUID(u)) for u in info.syncIdSet["syncUUIDs"]}
                        (out.deleted if info.syncIdSet["refreshDeletes"] else out.present).update(ids)
                        out.cookie = info.syncIdSet.get("cookie", out.cookie)
                    elif info.refreshPresent is not None:
                        out.present_phase = True
                        out.cookie = info.refreshPresent.get("cookie", out.cookie)
                    elif info.refreshDelete is not None:
                        out.cookie = info.refreshDelete.get("cookie", out.cookie)
            elif rtype == ldap.RES_SEARCH_RESULT:
                done = next((c for c in rctrls if isinstance(c, SyncDoneControl)), None)
                if done is None:
                    raise SyncSourceError(
                        f"LDAP server {settings.uri} ended the content sync without syncDone: "
                        "cannot tell whether the changes are complete"
                    )
                if done.cookie:
                    out.cookie = done.cookie
                if not done.refreshDeletes:
                    out.present_phase = True
                return out
            else:
                raise SyncSourceError(f"unexpected LDAP message type {rtype!r} during {action}")
    except ldap.LDAPError as exc:
        raise _wrap(exc, settings, action) from exc


def _sync_refresh_required(exc: BaseException) -> bool:
    cause = exc.__cause__
    if isinstance(cause, ldap.LDAPError) and cause.args and isinstance(cause.args[0], dict):
        return cause.args[0].get("result") == _RESULT_SYNC_REFRESH_REQUIRED
    return False


def _usn_marker(conn: LDAPObject, settings: LdapSettings) -> tuple[str, int]:
    dse = _root_dse(conn, settings, ["highestCommittedUSN", "dsServiceName"])
    try:
        usn = int(dse["highestcommittedusn"][0])
    except (KeyError, IndexError, ValueError) as exc:
        raise SyncSourceError(f"{settings.uri} reports no highestCommittedUSN (is it Active Directory?)") from exc
    server = dse.get("dsservicename", [b""])[0].decode("utf-8", "replace").lower()
    return hashlib.sha1(server.encode("utf-8")).hexdigest()[:16], usn


def _max_csn(entries: Collection[DirEntry], floor: str | None) -> str | None:
    best = floor
    for entry in entries:
        for csn in entry.attrs.get("entrycsn", ()):
            if best is None or csn > best:
                best = csn
    return best


def _full_with_cookie(conn: LDAPObject, settings: LdapSettings, cookie: str | None, how: str) -> ReadResult:
    entries = _read_all(conn, settings, settings.object_filter, f"reading {settings.base_dn}")
    return ReadResult(entries=tuple(entries), complete=True, cookie=cookie, source=_source(settings, how))


def _incremental_result(
    conn: LDAPObject,
    settings: LdapSettings,
    changed: list[DirEntry],
    cookie: str | None,
    deleted: set[str],
    present: frozenset[str] | None,
    known_ids: Collection[str] | None,
    how: str,
) -> ReadResult:
    if any(_is_ou(settings, e) for e in changed):
        # a renamed/moved OU changes its children's DNs without resending them: read everything
        return _full_with_cookie(conn, settings, cookie, f"{how}, full read because an OU changed")
    deleted_ids = set(deleted)
    if present is not None:
        if known_ids is not None:
            deleted_ids |= {i for i in known_ids if i not in present}
        deleted_ids -= present
    deleted_ids -= {e.entry_id for e in changed}
    return ReadResult(
        entries=tuple(changed),
        complete=False,
        cookie=cookie,
        deleted_ids=frozenset(deleted_ids),
        present_ids=present,
        source=_source(settings, how),
    )


def read_incremental(
    settings: LdapSettings,
    cookie: str | None,
    *,
    known_ids: Collection[str] | None = None,
) -> ReadResult:
    """Read what changed since ``cookie`` (an opaque string from a previous call).

    * ``cookie=None`` (or a cookie of another method or server): a full read, ``complete=True``,
      with a fresh cookie taken *before* the read (changes during the read come again next time).
    * OpenLDAP with ``syncprov`` (mode ``syncrepl``): an RFC 4533 refreshOnly content sync.
      ``entries`` are the added/changed entries; deletions come as ids in ``deleted_ids``. When the
      provider answers with a present phase (its session log no longer covers the cookie, e.g.
      after a restart), ``present_ids`` is the complete set of ids still present and, if the
      caller passes ``known_ids`` (the ids it holds), ``deleted_ids`` includes
      ``known_ids - present_ids``. If the server demands a full refresh
      (e-syncRefreshRequired), a full read is returned.
    * Active Directory (mode ``usn``): entries with ``uSNChanged`` above the cookie's USN (cookie
      bound to the DC that issued it), and OpenLDAP without syncprov (mode ``csn``): entries with
      ``entryCSN`` above the cookie's CSN. Both add an id-only sweep: ``present_ids`` is always
      set and ``deleted_ids = known_ids - present_ids`` when ``known_ids`` is given.
    * If any changed entry is an OU, a full read is returned instead (``complete=True``), because
      a renamed or moved OU changes its children's DNs without the children being resent.

    ``deleted_ids`` may hold ids the caller never knew (e.g. entries moved out of the base);
    callers ignore those. Raises :class:`SyncSourceError` on any failure; nothing partial returns.
    """
    conn = connect(settings)
    try:
        mode = _choose_mode(conn, settings)
        if mode == "syncrepl":
            return _incremental_syncrepl(conn, settings, cookie, known_ids)
        if mode == "usn":
            return _incremental_usn(conn, settings, cookie, known_ids)
        return _incremental_csn(conn, settings, cookie, known_ids)
    finally:
        _close(conn)


def _incremental_syncrepl(conn: LDAPObject, settings: LdapSettings, cookie: str | None,
                          known_ids: Collection[str] | None) -> ReadResult:
    prefix = "syncrepl:"
    if cookie is None or not cookie.startswith(prefix):
        # take the cookie first (a base-scope content sync returns only the base entry)
        start = _content_sync(conn, settings, None, scope=ldap.SCOPE_BASE, filterstr="(objectClass=*)",
                              attrlist=["1.1"])
        new_cookie = prefix + start.cookie if start.cookie else None
        return _full_with_cookie(conn, settings, new_cookie, "content sync, initial full read")
    try:
        out = _content_sync(conn, settings, cookie[len(prefix):], scope=ldap.SCOPE_SUBTREE,
                            filterstr=settings.object_filter, attrlist=settings.attributes)
    except SyncSourceError as exc:
        if _sync_refresh_required(exc):
            return _incremental_syncrepl(conn, settings, None, known_ids)
        raise
    new_cookie = prefix + out.cookie if out.cookie else cookie
    present = frozenset(out.present) if out.present_phase else None
    changed = list(out.changed.values())
    if any(";range=" in name for e in changed for name in e.attrs):
        raise SyncSourceError("content sync returned ranged attributes; cannot complete them")
    return _incremental_result(conn, settings, changed, new_cookie, out.deleted, present, known_ids,
                               "content sync")


def _incremental_usn(conn: LDAPObject, settings: LdapSettings, cookie: str | None,
                     known_ids: Collection[str] | None) -> ReadResult:
    server, usn_now = _usn_marker(conn, settings)
    new_cookie = f"usn:{server}:{usn_now}"
    parts = cookie.split(":") if cookie else []
    if len(parts) != 3 or parts[0] != "usn" or parts[1] != server or not parts[2].isdigit():
        return _full_with_cookie(conn, settings, new_cookie, "uSNChanged, initial full read")
    since = int(parts[2])
    filterstr = f"(&{settings.object_filter}(uSNChanged>={since + 1}))"
    changed = _read_all(conn, settings, filterstr, "reading changes (uSNChanged)")
    present = _sweep_ids(conn, settings)
    return _incremental_result(conn, settings, changed, new_cookie, set(), present, known_ids, "uSNChanged")


_CSN_RE = re.compile(r"^(\d{14})(\.\d{1,6})?Z#[0-9a-fA-F]{6}#[0-9a-fA-F]{3}#[0-9a-fA-F]{6}$")
_CSN_SAFETY = 2.0  # seconds: covers the truncation to whole seconds


def _csn_before(csn: str, seconds: float) -> str:
    """A CSN ``seconds`` earlier than ``csn`` (a lower bound, for the strict ``>`` filter)."""
    match = _CSN_RE.match(csn)
    if not match:
        raise ValueError(f"not a CSN: {csn!r}")
    stamp = datetime.strptime(match.group(1), "%Y%m%d%H%M%S") - timedelta(seconds=math.ceil(seconds))
    return stamp.strftime("%Y%m%d%H%M%S") + ".000000Z#000000#000#000000"


def _csn_cookie(entries: Collection[DirEntry], floor: str | None, pages: int, started: float) -> str | None:
    """The cookie after reading ``entries`` with entryCSN above ``floor``.

    One page is one search operation, which slapd answers from one consistent snapshot: every
    later change has a larger CSN than the largest one seen. A read over several pages is not
    atomic -- an entry of an early page may change while later pages are read, with a CSN below
    the largest one seen -- so then the cookie steps back by the read's duration (measured here;
    the server's clock runs at the same rate even if it is offset) plus a margin, and the next
    read repeats the entries changed in that window (harmless) rather than missing one.
    """
    best = _max_csn(entries, floor)
    if best is None or pages <= 1 or best == floor:
        return f"csn:{best}" if best else None
    stepped = _csn_before(best, time.monotonic() - started + _CSN_SAFETY)
    if floor is not None and stepped <= floor:
        stepped = floor
    return f"csn:{stepped}"


def _incremental_csn(conn: LDAPObject, settings: LdapSettings, cookie: str | None,
                     known_ids: Collection[str] | None) -> ReadResult:
    since = cookie[4:] if cookie and cookie.startswith("csn:") else None
    started = time.monotonic()
    pages = _Pages()
    if since is None or not _CSN_RE.match(since):
        entries = _read_all(conn, settings, settings.object_filter, f"reading {settings.base_dn}", pages,
                            csn=True)
        return ReadResult(entries=tuple(entries), complete=True,
                          cookie=_csn_cookie(entries, None, pages.count, started),
                          source=_source(settings, "entryCSN, initial full read"))
    escaped = ldap.filter.escape_filter_chars(since)
    filterstr = f"(&{settings.object_filter}(entryCSN>={escaped})(!(entryCSN={escaped})))"
    changed = _read_all(conn, settings, filterstr, "reading changes (entryCSN)", pages, csn=True)
    new_cookie = _csn_cookie(changed, since, pages.count, started) or cookie
    present = _sweep_ids(conn, settings)
    return _incremental_result(conn, settings, changed, new_cookie, set(), present, known_ids, "entryCSN")


# ---- login --------------------------------------------------------------------------------


def find_user_dn(settings: LdapSettings, login: str) -> str | None:
    """The DN of the person whose ``settings.login_attr`` equals ``login``, or None.

    The search binds as the service account; ``login`` is escaped with
    :func:`ldap.filter.escape_filter_chars`, so ``*)(uid=*`` matches nobody. An empty login, no
    match, or more than one match (an ambiguous login) gives None. Directory failures raise
    :class:`SyncSourceError`. Whether the person is still active is the caller's decision.
    """
    if not login or not login.strip() or "\x00" in login:
        return None
    filterstr = f"(&{settings.user_filter}({settings.login_attr}={ldap.filter.escape_filter_chars(login)}))"
    conn = connect(settings)
    try:
        try:
            res = conn.search_ext_s(settings.base_dn, ldap.SCOPE_SUBTREE, filterstr, ["1.1"],
                                    timeout=settings.timeout, sizelimit=2)
        except ldap.SIZELIMIT_EXCEEDED:
            return None  # two or more people share this login
        except ldap.LDAPError as exc:
            raise _wrap(exc, settings, f"looking up login {login!r}") from exc
    finally:
        _close(conn)
    dns = [dn for dn, _ in res if dn is not None]
    return dns[0] if len(dns) == 1 else None


def check_password(settings: LdapSettings, dn: str, password: str) -> bool:
    """True when a simple bind as ``dn`` with ``password`` succeeds (on a fresh connection).

    An empty password is always False without asking the server (an LDAP bind with a DN and no
    password is an "unauthenticated bind" that some servers accept as anonymous). Wrong
    credentials give False; an unreachable or frozen server raises :class:`SyncSourceError`
    (the caller should say "directory unavailable", not "wrong password").
    """
    if not dn or not password:
        return False
    conn: LDAPObject | None = None
    try:
        conn = connect(settings, bind=False)
        try:
            conn.simple_bind_s(dn, password)
        except ldap.INVALID_CREDENTIALS:
            return False
        except (ldap.INVALID_DN_SYNTAX, ldap.UNWILLING_TO_PERFORM, ldap.INAPPROPRIATE_AUTH):
            return False
        except ldap.LDAPError as exc:
            raise _wrap(exc, settings, "checking a password", who=dn) from exc
        return True
    finally:
        _close(conn)
