"""The configured directory: LDAP settings from the app config, reads and binds."""

from __future__ import annotations

from typing import Any, Collection, Mapping

from org_sync.model import ReadResult

__all__ = ["ldap_settings", "directory_configured", "read_directory"]


def directory_configured(config: Mapping[str, Any]) -> bool:
    return bool(config.get("LDAP_URI") and config.get("LDAP_BASE_DN"))


def ldap_settings(config: Mapping[str, Any]):
    """:class:`org_sync.ldap_reader.LdapSettings` from ``IA_LDAP_*``."""
    from org_sync.ldap_reader import LdapSettings

    flavor = config.get("LDAP_FLAVOR") or "openldap"
    return LdapSettings(
        uri=config["LDAP_URI"],
        base_dn=config["LDAP_BASE_DN"],
        bind_dn=config.get("LDAP_BIND_DN"),
        bind_password=config.get("LDAP_BIND_PASSWORD"),
        flavor=flavor,
        starttls=bool(config.get("LDAP_STARTTLS")),
        timeout=float(config.get("LDAP_TIMEOUT") or 10.0),
        user_filter=config.get("LDAP_USER_FILTER") or "(objectClass=inetOrgPerson)",
        login_attr="sAMAccountName" if flavor == "ad" else "uid",
        tls_cacertfile=config.get("LDAP_CA_FILE"),
    )


def read_directory(config: Mapping[str, Any], *, cookie: str | None, full: bool,
                   known_ids: Collection[str] | None = None) -> ReadResult:
    """Read the configured directory: everything (paged, with a fresh incremental cookie taken
    before the read) when ``full`` or no cookie is known, else the changes since ``cookie``.

    Raises :class:`org_sync.model.SyncSourceError` on any error or partial result.
    """
    from org_sync import ldap_reader

    return ldap_reader.read_incremental(ldap_settings(config), None if full else cookie, known_ids=known_ids)
