"""Edit an LDIF directory export in tests: rename, move, change, remove and restore entries."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import ldif
import ldap.dn


@dataclass
class Directory:
    records: list[tuple[str, dict[str, list[bytes]]]] = field(default_factory=list)

    @classmethod
    def load(cls, path: Path | str) -> "Directory":
        parser = ldif.LDIFRecordList(open(path, "rb"))
        parser.parse()
        return cls([(dn, dict(attrs)) for dn, attrs in parser.all_records])

    def dump(self) -> bytes:
        out = io.StringIO()
        writer = ldif.LDIFWriter(out, cols=1000)
        for dn, attrs in self.records:
            writer.unparse(dn, attrs)
        return out.getvalue().encode()

    def write(self, path: Path) -> Path:
        path.write_bytes(self.dump())
        return path

    def _index(self, match) -> int:
        for i, (dn, attrs) in enumerate(self.records):
            if match(dn, attrs):
                return i
        raise KeyError("no such entry")

    def find_uid(self, uid: str) -> int:
        return self._index(lambda dn, a: a.get("uid") == [uid.encode()])

    def dn_of(self, uid: str) -> str:
        return self.records[self.find_uid(uid)][0]

    def set(self, uid: str, attr: str, *values: str) -> None:
        i = self.find_uid(uid)
        dn, attrs = self.records[i]
        if values:
            attrs[attr] = [v.encode() for v in values]
        else:
            attrs.pop(attr, None)

    def remove(self, uid: str) -> tuple[str, dict[str, list[bytes]]]:
        """Remove a person and every group membership pointing at them."""
        i = self.find_uid(uid)
        removed = self.records.pop(i)
        self._drop_member(removed[0])
        return removed

    def _drop_member(self, dn: str) -> None:
        key = ldap.dn.str2dn(dn)
        for _, attrs in self.records:
            if "member" in attrs:
                attrs["member"] = [m for m in attrs["member"] if ldap.dn.str2dn(m.decode()) != key]

    def add(self, record: tuple[str, dict[str, list[bytes]]]) -> None:
        self.records.append(record)

    def move(self, uid: str, new_parent_dn: str) -> str:
        """Move a person below another unit; references to the old DN follow."""
        i = self.find_uid(uid)
        old_dn, attrs = self.records[i]
        rdn = ldap.dn.dn2str(ldap.dn.str2dn(old_dn)[:1])
        new_dn = f"{rdn},{new_parent_dn}"
        self.records[i] = (new_dn, attrs)
        self._repoint(old_dn, new_dn)
        return new_dn

    def rename_uid(self, uid: str, new_uid: str) -> str:
        i = self.find_uid(uid)
        old_dn, attrs = self.records[i]
        parent = ldap.dn.dn2str(ldap.dn.str2dn(old_dn)[1:])
        new_dn = f"uid={new_uid},{parent}"
        attrs["uid"] = [new_uid.encode()]
        self.records[i] = (new_dn, attrs)
        self._repoint(old_dn, new_dn)
        return new_dn

    def _repoint(self, old_dn: str, new_dn: str) -> None:
        key = ldap.dn.str2dn(old_dn)
        for _, attrs in self.records:
            for name in ("member", "manager"):
                if name in attrs:
                    attrs[name] = [new_dn.encode() if ldap.dn.str2dn(v.decode()) == key else v for v in attrs[name]]

    def unit_dn(self, *names: str) -> str:
        """DN of ``ou=names[-1],…,ou=names[0],base``."""
        base = "dc=jiahe,dc=gov,dc=cn"
        return ",".join(f"ou={ldap.dn.escape_dn_chars(n)}" for n in reversed(names)) + "," + base

    def people_uids(self) -> list[str]:
        return [a["uid"][0].decode() for _, a in self.records if b"inetOrgPerson" in a.get("objectClass", [])]
